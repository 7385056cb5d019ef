#ifndef SLA2_EXPORT_H
#define SLA2_EXPORT_H

#if defined(_WIN32)
#  if defined(SLA2_BUILDING_SHARED)
#    define SLA2_API __declspec(dllexport)
#  elif defined(SLA2_USING_SHARED)
#    define SLA2_API __declspec(dllimport)
#  else
#    define SLA2_API
#  endif
#elif defined(__GNUC__)
#  define SLA2_API __attribute__((visibility("default")))
#else
#  define SLA2_API
#endif

#endif
