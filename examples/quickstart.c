/* sla2 quickstart: SLA2 attention on the best device, in the order an application does it.
 * Build: cc quickstart.c $(pkg-config --cflags --libs sla2) */
#include <stdio.h>
#include <stdlib.h>

#include <sla2/sla2.h>

#define CHECK(call)                                                                       \
  do {                                                                                    \
    sla2_status status_ = (call);                                                         \
    if (status_ != SLA2_OK) {                                                             \
      fprintf(stderr, "%s failed: %s\n", #call, sla2_last_error());                       \
      exit(EXIT_FAILURE); /* a real app would clean up and propagate the status */        \
    }                                                                                     \
  } while (0)

int main(void) {
  enum { B = 1, H = 2, N = 512, D = 64, COUNT = B * H * N * D };
  const int64_t shape[4] = {B, H, N, D};

  sla2_device *device = NULL; /* SLA2_DEVICE=cpu (or cuda0, vulkan0, ...) overrides the choice */
  CHECK(sla2_device_best(&device));
  printf("device: %s\n", sla2_device_name(device));

  sla2_tensor *q = NULL, *k = NULL, *v = NULL, *o = NULL; /* contiguous [B, H, N, D] */
  CHECK(sla2_tensor_create(device, SLA2_F32, shape, NULL, &q));
  CHECK(sla2_tensor_create(device, SLA2_F32, shape, NULL, &k));
  CHECK(sla2_tensor_create(device, SLA2_F32, shape, NULL, &v));
  CHECK(sla2_tensor_create(device, SLA2_F32, shape, NULL, &o));

  static float host[COUNT];
  srand(1234);
  sla2_tensor *inputs[3] = {q, k, v};
  for (int t = 0; t < 3; t++) {
    for (int i = 0; i < COUNT; i++) host[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    CHECK(sla2_tensor_upload(inputs[t], host, sizeof host));
  }

  sla2_config config = sla2_config_default(); /* topk 0.05, blocks 128 x 64, int8_fp8 */
  sla2_layer_desc desc = {.num_heads = H, .head_dim = D, .seq_len = 0};
  sla2_layer *layer = NULL;
  CHECK(sla2_layer_create(device, &config, &desc, &layer));

  CHECK(sla2_layer_forward(layer, q, k, v, o, NULL, NULL)); /* O = SLA2(Q, K, V) */
  CHECK(sla2_tensor_download(o, host, sizeof host));
  printf("o[0, 0, 0, 0:4] = %.5f %.5f %.5f %.5f\n", host[0], host[1], host[2], host[3]);

  sla2_forward_stats stats;
  CHECK(sla2_layer_get_stats(layer, &stats));
  printf("density %.3f, %lld of %lld key blocks per query block, alpha %.3f\n", stats.density,
         (long long)stats.k_per_row, (long long)stats.t_n, stats.alpha_mean);

  sla2_layer_destroy(layer);
  sla2_tensor_destroy(q);
  sla2_tensor_destroy(k);
  sla2_tensor_destroy(v);
  sla2_tensor_destroy(o);
  return 0;
}
