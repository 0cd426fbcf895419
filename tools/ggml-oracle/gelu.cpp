#include "ggml-backend.h"
#include "ggml-cpu.h"
#include <dlfcn.h>
#include <cstdio>
#include <string>
#include <cstring>
// Dumps ggml-cpu's GELU fp16 table (ggml_table_gelu_f16), built when the CPU backend initializes.
int main(int argc, char** argv) {
  // gelu <libdir> <out.bin> [variant.so]: load that variant, or the one llama.cpp would pick;
  // then find which library that was
  ggml_backend_reg_t reg = nullptr;
  if (argc > 3) reg = ggml_backend_load((std::string(argv[1]) + "/" + argv[3]).c_str());
  else { ggml_backend_load_all_from_path(argv[1]); reg = ggml_backend_reg_by_name("CPU"); }
  if (!reg) { fprintf(stderr, "load failed\n"); return 1; }
  std::string so;
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[4096];
  while (maps && fgets(line, sizeof line, maps)) { char* p = strstr(line, "/libggml-cpu-"); if (p) { char* s = strchr(line, '/'); s[strcspn(s, "\n")] = 0; so = s; break; } }
  if (maps) fclose(maps);
  ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, 0);
  ggml_backend_t be = ggml_backend_dev_init(dev, NULL); (void)be; // init builds the tables
  void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_NOLOAD);
  unsigned short* t = (unsigned short*)dlsym(h, "ggml_table_gelu_f16");
  FILE* f = fopen(argv[2], "wb"); fwrite(t, 2, 65536, f); fclose(f);
  return 0;
}
