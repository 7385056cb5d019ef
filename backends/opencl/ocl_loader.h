/* OpenCL backend: the ICD loader opened at run time and its entry points in one table.
 *
 * The library never links libOpenCL: ocl_loader_open() dlopens the loader ("libOpenCL.so.1",
 * else "libOpenCL.so", or the file SLA2_OPENCL_LIBRARY names, e.g. one vendor's own loader)
 * and resolves every entry point below into ocl_cl. Where the loader is absent, or lacks one
 * of them, only this backend is UNAVAILABLE. Host code calls ocl_cl.clXxx(...) only: the test
 * and bench programs link the static library without -lOpenCL, so a direct call fails to link. */
#ifndef SLA2_BACKENDS_OPENCL_LOADER_H
#define SLA2_BACKENDS_OPENCL_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

/* Every OpenCL 1.2 entry point the backend uses. */
#define OCL_FNS(X)             \
  X(clGetPlatformIDs)          \
  X(clGetPlatformInfo)         \
  X(clGetDeviceIDs)            \
  X(clGetDeviceInfo)           \
  X(clCreateContext)           \
  X(clReleaseContext)          \
  X(clCreateCommandQueue)      \
  X(clCreateBuffer)            \
  X(clReleaseMemObject)        \
  X(clEnqueueWriteBuffer)      \
  X(clEnqueueReadBuffer)       \
  X(clEnqueueFillBuffer)       \
  X(clCreateProgramWithSource) \
  X(clCreateProgramWithBinary) \
  X(clBuildProgram)            \
  X(clGetProgramBuildInfo)     \
  X(clGetProgramInfo)          \
  X(clReleaseProgram)          \
  X(clCreateKernel)            \
  X(clSetKernelArg)            \
  X(clEnqueueNDRangeKernel)    \
  X(clFinish)

/* Pointer types from the headers' own prototypes (only their types are used: no link). */
#define OCL_DECLARE_FN(name) __typeof__(name) *name;
typedef struct ocl_fns {
  OCL_FNS(OCL_DECLARE_FN)
} ocl_fns;
#undef OCL_DECLARE_FN

/* Filled by ocl_loader_open; read-only afterwards. */
extern ocl_fns ocl_cl;

/* Opens the loader once per process and fills ocl_cl. false with a one-line reason (naming the
 * library and what is missing) when it cannot. Called from the backend's init, which the
 * registry runs once. */
bool ocl_loader_open(char *reason, size_t reason_capacity);

#endif
