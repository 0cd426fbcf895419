// Dev-only oracle: llama.cpp's no-FA attention subgraph on the shipped CPU backend.
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include <string>
static std::vector<char> rd(const char* p){ FILE*f=fopen(p,"rb"); fseek(f,0,SEEK_END); long n=ftell(f); fseek(f,0,SEEK_SET); std::vector<char> v(n); fread(v.data(),1,n,f); fclose(f); return v; }
int main(int argc, char** argv) {
  // attn <libdir> <variant.so> <T> <nHead> <nHeadKv> <hd> <window(-1=all)> <q.bin> <k.bin> <v.bin> <out.bin> <threads> [kq_scale]
  std::string so=std::string(argv[1])+"/"+argv[2];
  int T=atoi(argv[3]), nH=atoi(argv[4]), nKV=atoi(argv[5]), hd=atoi(argv[6]), win=atoi(argv[7]);
  auto q=rd(argv[8]); auto k=rd(argv[9]); auto v=rd(argv[10]); int nth=atoi(argv[12]);
  float kq_scale = argc > 13 ? (float) atof(argv[13]) : 1.0f; // soft_max_ext's scale (BERT: 1/sqrt(hd))
  // "auto": load every CPU variant the way llama.cpp does and keep the best one for this CPU
  if (std::string(argv[2]) == "auto") ggml_backend_load_all_from_path(argv[1]);
  ggml_backend_reg_t reg = std::string(argv[2]) == "auto" ? ggml_backend_reg_by_name("CPU") : ggml_backend_load(so.c_str());
  if (!reg) { fprintf(stderr, "load failed\n"); return 1; }
  ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, 0);
  ggml_backend_t be = ggml_backend_dev_init(dev, NULL);
  auto set_threads = (void(*)(ggml_backend_t,int)) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
  set_threads(be, nth);
  ggml_init_params ip = { 64*ggml_tensor_overhead()+ggml_graph_overhead(), NULL, true };
  ggml_context* ctx = ggml_init(ip);
  ggml_tensor* Q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, hd, nH, T);
  ggml_tensor* K = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, hd, nKV, T);
  ggml_tensor* V = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, hd, nKV, T);
  ggml_tensor* M = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, T, T, 1, 1);
  ggml_set_input(Q); ggml_set_input(K); ggml_set_input(V); ggml_set_input(M);
  ggml_tensor* q2 = ggml_permute(ctx, Q, 0, 2, 1, 3);
  ggml_tensor* k2 = ggml_permute(ctx, K, 0, 2, 1, 3);
  ggml_tensor* v2 = ggml_permute(ctx, V, 0, 2, 1, 3);
  ggml_tensor* kq = ggml_mul_mat(ctx, k2, q2);
  ggml_mul_mat_set_prec(kq, GGML_PREC_F32);
  kq = ggml_soft_max_ext(ctx, kq, M, kq_scale, 0.0f);
  v2 = ggml_cont(ctx, ggml_transpose(ctx, v2));
  ggml_tensor* kqv = ggml_mul_mat(ctx, v2, kq);
  ggml_tensor* cur = ggml_permute(ctx, kqv, 0, 2, 1, 3);
  cur = ggml_cont_2d(ctx, cur, cur->ne[0]*cur->ne[1], cur->ne[2]*cur->ne[3]);
  ggml_set_output(cur);
  ggml_cgraph* gf = ggml_new_graph(ctx); ggml_build_forward_expand(gf, cur);
  ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_dev_buffer_type(dev));
  ggml_gallocr_alloc_graph(ga, gf);
  ggml_backend_tensor_set(Q, q.data(), 0, ggml_nbytes(Q));
  ggml_backend_tensor_set(K, k.data(), 0, ggml_nbytes(K));
  ggml_backend_tensor_set(V, v.data(), 0, ggml_nbytes(V));
  std::vector<float> m(T*T);
  for (int i=0;i<T;i++) for (int j=0;j<T;j++) m[i*T+j] = (win<0 || std::abs(i-j)<=win) ? 0.0f : -INFINITY;
  ggml_backend_tensor_set(M, m.data(), 0, m.size()*4);
  ggml_backend_graph_compute(be, gf);
  std::vector<float> y(ggml_nelements(cur)); ggml_backend_tensor_get(cur, y.data(), 0, y.size()*4);
  FILE* f=fopen(argv[11],"wb"); fwrite(y.data(),4,y.size(),f); fclose(f);
  return 0;
}
