// Dev-only oracle: run one ggml op with the shipped libggml (node-llama-cpp) and dump the result.
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <string>
static std::vector<char> rd(const char* p){ FILE*f=fopen(p,"rb"); fseek(f,0,SEEK_END); long n=ftell(f); fseek(f,0,SEEK_SET); std::vector<char> v(n); fread(v.data(),1,n,f); fclose(f); return v; }
int main(int argc, char** argv) {
  // mm <libdir> <variant.so> <type> <K> <N> <M> <w.bin> <x.bin> <out.bin> <buffer: 0 cpu | 1 AMX | 2 CPU_REPACK | 3 llama.cpp's pick> <threads>
  const char* dir=argv[1]; std::string so=std::string(dir)+"/"+argv[2];
  int type=atoi(argv[3]); int K=atoi(argv[4]), N=atoi(argv[5]), M=atoi(argv[6]);
  auto w=rd(argv[7]); auto x=rd(argv[8]); int amx=atoi(argv[10]); int nth=atoi(argv[11]);
  // "auto": load every CPU variant the way llama.cpp does and keep the best one for this CPU
  if (std::string(argv[2]) == "auto") ggml_backend_load_all_from_path(argv[1]);
  ggml_backend_reg_t reg = std::string(argv[2]) == "auto" ? ggml_backend_reg_by_name("CPU") : ggml_backend_load(so.c_str());
  if (!reg) { fprintf(stderr, "load failed\n"); return 1; }
  ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, 0);
  ggml_backend_t be = ggml_backend_dev_init(dev, NULL);
  auto set_threads = (void(*)(ggml_backend_t,int)) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
  if (set_threads) set_threads(be, nth);
  ggml_backend_buffer_type_t wbuft = ggml_backend_dev_buffer_type(dev);
  ggml_init_params ip = { 64*ggml_tensor_overhead()+ggml_graph_overhead(), NULL, true };
  ggml_context* ctx = ggml_init(ip);
  ggml_tensor* W = ggml_new_tensor_2d(ctx, (ggml_type)type, K, N);
  if (amx) {
    auto get_extra = (ggml_backend_buffer_type_t*(*)(ggml_backend_dev_t)) ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
    ggml_backend_buffer_type_t* ex = get_extra(dev);
    // amx 3 ("pick"): the first extra buffer whose supports_op takes mul_mat(W, 512 f32 columns),
    // else the plain CPU buffer, as llama.cpp's select_weight_buft (src/llama-model-loader.cpp) does
    ggml_context* pctx = amx == 3 ? ggml_init(ip) : nullptr;
    ggml_tensor* probe = amx == 3 ? ggml_mul_mat(pctx, W, ggml_new_tensor_2d(pctx, GGML_TYPE_F32, K, 512)) : nullptr;
    for (; ex && *ex; ex++) {
      fprintf(stderr, "extra buft: %s\n", ggml_backend_buft_name(*ex));
      if (amx == 3) {
        W->buffer = ggml_backend_buft_alloc_buffer(*ex, 0);
        bool ok = ggml_backend_dev_supports_op(dev, probe);
        ggml_backend_buffer_free(W->buffer); W->buffer = nullptr;
        if (ok) { wbuft = *ex; break; }
      } else if (strcmp(ggml_backend_buft_name(*ex), amx == 1 ? "AMX" : "CPU_REPACK") == 0) { wbuft=*ex; }
    }
    fprintf(stderr,"using %s\n", ggml_backend_buft_name(wbuft));
    printf("%s\n", ggml_backend_buft_name(wbuft));
  }
  ggml_tensor* X = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, M);
  ggml_set_input(X); ggml_tensor* Y = ggml_mul_mat(ctx, W, X); ggml_set_output(Y);
  ggml_cgraph* gf = ggml_new_graph(ctx); ggml_build_forward_expand(gf, Y);
  ggml_context* wctx = ggml_init(ip); // separate ctx for the weight buffer
  ggml_backend_buffer_t wb = ggml_backend_buft_alloc_buffer(wbuft, ggml_backend_buft_get_alloc_size(wbuft, W) + 4096);
  ggml_tallocr ta = ggml_tallocr_new(wb); ggml_tallocr_alloc(&ta, W);
  ggml_backend_buffer_set_usage(wb, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
  ggml_backend_buffer_t xb = ggml_backend_buft_alloc_buffer(ggml_backend_dev_buffer_type(dev), ggml_nbytes(X) + ggml_nbytes(Y) + 1024);
  ggml_tallocr tx = ggml_tallocr_new(xb); ggml_tallocr_alloc(&tx, X); ggml_tallocr_alloc(&tx, Y);
  ggml_backend_tensor_set(W, w.data(), 0, ggml_nbytes(W));
  ggml_backend_tensor_set(X, x.data(), 0, ggml_nbytes(X));
  ggml_backend_graph_compute(be, gf);
  std::vector<float> y(N*M); ggml_backend_tensor_get(Y, y.data(), 0, y.size()*4);
  FILE* f=fopen(argv[9],"wb"); fwrite(y.data(),4,y.size(),f); fclose(f);
  (void)wctx; return 0;
}
