// Dev-only: print each CPU variant library's ggml_backend_score on this CPU (0 = it cannot run
// here), the number ggml_backend_load_best ranks variants by (ggml/src/ggml-backend-reg.cpp).
//   score <libdir> <libggml-cpu-variant.so>...
#include <dlfcn.h>
#include <cstdio>
#include <string>
int main(int argc, char** argv) {
  for (int i = 2; i < argc; i++) {
    std::string p = std::string(argv[1]) + "/" + argv[i];
    void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) { printf("%s -1\n", argv[i]); continue; }
    auto score = (int (*)()) dlsym(h, "ggml_backend_score");
    printf("%s %d\n", argv[i], score ? score() : -1);
  }
  return 0;
}
