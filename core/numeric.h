/* Internal: scalar number formats shared by the oracle, the CPU backend and the tests.
 * Round half to even everywhere; all functions are exact (no libm approximations). */
#ifndef SLA2_CORE_NUMERIC_H
#define SLA2_CORE_NUMERIC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

float sla2_f16_to_f32(uint16_t h);
uint16_t sla2_f32_to_f16(float f);   /* round half to even, overflow to inf, NaN kept */
float sla2_bf16_to_f32(uint16_t h);
uint16_t sla2_f32_to_bf16(float f);  /* round half to even, NaN kept */
/* FP8 E4M3 (bias 7, max 448, no inf): round half to even, saturate to +-448, NaN -> 0x7F. */
uint8_t sla2_f32_to_e4m3(float f);
float sla2_e4m3_to_f32(uint8_t code);
/* INT8 symmetric code: clamp(rint(x / sigma), -127, 127) with an f32 division. */
int8_t sla2_int8_code(float x, float sigma);
/* sigma = amax / 127 (1 when amax == 0), amax = max |x| over the group. */
float sla2_int8_sigma(float amax);
/* sigma_v = amax / 448 (1 when amax == 0). */
float sla2_fp8_sigma(float amax);

/* Load element i of a float tensor stored as dtype (SLA2_F32 / SLA2_F16 / SLA2_BF16). */
float sla2_load_float(const void *base, int dtype, int64_t i);
void sla2_store_float(void *base, int dtype, int64_t i, float value);

#ifdef __cplusplus
}
#endif
#endif
