/* Dumps this machine's C library results for the inputs our ports must reproduce bit for bit:
 * sincosf of every RoPE angle (positions 0..4095, 128 angles each, theta_{i+1} = theta_i * powf(base,
 * -2/256)) for the given bases, and expf of pseudo-random softmax inputs in [-40, 0].
 * Usage: libm-dump <out.bin> <base>... ; layout: per base [theta_scale, (cos, sin) x 4096*128],
 * then 1M (x, expf(x)) pairs. Built and run by test/kernels/libm.test.ts. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "wb");
  if (!f) return 1;
  for (int b = 2; b < argc; b++) {
    float base = strtof(argv[b], NULL), ts = powf(base, -2.0f / 256);
    fwrite(&ts, 4, 1, f);
    for (int p = 0; p < 4096; p++) {
      float th = (float)p;
      for (int i = 0; i < 128; i++) { float s, c; sincosf(th, &s, &c); fwrite(&c, 4, 1, f); fwrite(&s, 4, 1, f); th *= ts; }
    }
  }
  uint32_t s = 12345;
  for (int i = 0; i < 1000000; i++) {
    s = s * 1664525u + 1013904223u;
    float x = -(float)(s >> 8) / (float)(1 << 24) * 40.0f, y = expf(x);
    fwrite(&x, 4, 1, f); fwrite(&y, 4, 1, f);
  }
  return fclose(f) != 0;
}
