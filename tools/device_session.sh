#!/bin/bash
# One GPU-machine session for every backend: the whole suite with every GPU backend required (on
# a machine with CUDA the suite also compares each portable backend's slots with CUDA's), then
# sla2-bench at the issues' shapes with CUDA, Vulkan and NVIDIA's OpenCL in one process, so that
# the ratios between backends come from one run.
#
# Usage, on the GPU machine from the repo root after `. .device/setup.sh`:
#   tools/device_session.sh BUILD_DIR [tests] [paths] [compare] [khr] [cuda] [big] [pocl] [sweep]
# BUILD_DIR holds tests/sla2-tests, tests/sla2-cuda-encoders-test, bench/sla2-bench,
# examples/sla2-devices and the library.
# Logs go to $OUT (or ./device-logs).
set -u
build=${1:?usage: tools/device_session.sh BUILD_DIR [steps...]}
shift
out=${OUT:-device-logs}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
T=./$build/tests/sla2-tests
B=./$build/bench/sla2-bench
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv | tee "$out/gpu.txt"
./$build/examples/sla2-devices >"$out/devices.txt" 2>&1
# The first OpenCL device that is a GPU (PoCL, a CPU device, comes first on these machines).
ocl=$(sed 's/^\*/ /' "$out/devices.txt" | awk '$2 == "backend" && $3 == "opencl" && $5 ~ /gpu/ { print $1; exit }')
shape="--batch 1 --heads 12 --seq 32760 --dim 128"
for step in "$@"; do
  case $step in
  tests) SLA2_TEST_REQUIRE=cpu,cuda,opencl,vulkan timeout 420 $T >"$out/tests.txt" 2>&1
         echo "tests rc=$?"; grep -E "^[0-9]+%|Checks|FAIL|Error" "$out/tests.txt" | head -20
         SLA2_TEST_REQUIRE=cuda timeout 120 ./$build/tests/sla2-cuda-encoders-test 2>&1 | tee -a "$out/tests.txt" ;;
  # The Vulkan case on each forced path (the default path runs in `tests`): subgroup-scope KHR
  # and NV cooperative matrices without cooperative matrices 2, and the baseline kernels.
  paths) for p in coopmat_khr coopmat_nv baseline; do
           SLA2_VULKAN_PATH=$p CK_RUN_CASE=vulkan SLA2_TEST_REQUIRE=cpu,cuda,vulkan timeout 300 $T >"$out/tests_$p.txt" 2>&1
           echo "vulkan $p rc=$?"; grep -E "^[0-9]+%|FAIL|Error" "$out/tests_$p.txt" | head -10
         done ;;
  compare) timeout 300 $B --device "cuda0,vulkan0${ocl:+,$ocl}" $shape --dtype f16 --topk 0.03 \
             --quant int8_fp8,none --warmup 1 --runs 3 2>&1 | tee "$out/compare.txt" ;;
  # The forward on each forced cooperative-matrix path, next to the default one, in one process each.
  khr) for p in coopmat_khr coopmat_nv; do
         SLA2_VULKAN_PATH=$p timeout 200 $B --device cuda0,vulkan0 $shape --dtype f16 --topk 0.03 \
           --quant int8_fp8,none --warmup 1 --runs 3 2>&1 | tee "$out/compare_$p.txt"
       done ;;
  cuda) timeout 200 $B --device cuda0 $shape --dtype bf16 --topk 0.03,1.0 --quant int8_fp8,none \
          --warmup 2 --runs 5 --stages 2>&1 | tee "$out/cuda.txt" ;;
  big) timeout 200 $B --device cuda0 --batch 1 --heads 40 --seq 75600 --dim 128 --dtype bf16 --topk 0.03 \
         --quant int8_fp8,none --warmup 1 --runs 3 --no-dense --stages 2>&1 | tee "$out/cuda_big.txt" ;;
  # PoCL against the CPU backend. The first process on a fresh machine runs both at about half
  # speed, so one throw-away run comes first; then two runs of the whole table.
  pocl) p="--heads 4 --seq 4096 --dim 128 --dtype f32 --quant none,int8,int8_fp8"
        timeout 100 $B --device cpu,opencl0 $p --topk 0.03 --no-dense --warmup 1 --runs 2 >/dev/null 2>&1
        for run in 1 2; do
          timeout 300 $B --device cpu,opencl0 $p --topk 0.03,1.0 --warmup 2 --runs 5 2>&1 | tee -a "$out/pocl.txt"
        done ;;
  sweep) timeout 200 $B --device cuda0 $shape --dtype bf16 --sweep --quant int8_fp8 --warmup 1 --runs 3 \
           --json 2>&1 | tee "$out/sweep.jsonl" ;;
  *) echo "unknown step '$step'"; exit 2 ;;
  esac
done
