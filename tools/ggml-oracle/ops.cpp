// Dev-only oracle: one ggml op on the shipped CPU backend (a variant library), f32 in and out.
//   ops <libdir> <variant.so|auto> <op> <ne0> <ne1> <param> <a.bin> <b.bin|-> <out.bin>
//   op: swiglu (ggml_swiglu_split(a = gate, b = up)), norm (ggml_norm(a, eps = param)),
//       gelu (ggml_gelu(a)), softmax (ggml_soft_max_ext(a, no mask, scale = param, 0))
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
static std::vector<char> rd(const char* p){ FILE*f=fopen(p,"rb"); fseek(f,0,SEEK_END); long n=ftell(f); fseek(f,0,SEEK_SET); std::vector<char> v(n); fread(v.data(),1,n,f); fclose(f); return v; }
int main(int argc, char** argv) {
  if (argc < 10) { fprintf(stderr, "usage: ops <libdir> <variant.so|auto> <op> <ne0> <ne1> <param> <a.bin> <b.bin|-> <out.bin>\n"); return 2; }
  std::string variant = argv[2], op = argv[3];
  int ne0 = atoi(argv[4]), ne1 = atoi(argv[5]);
  float param = (float) atof(argv[6]);
  if (variant == "auto") ggml_backend_load_all_from_path(argv[1]);
  ggml_backend_reg_t reg = variant == "auto" ? ggml_backend_reg_by_name("CPU") : ggml_backend_load((std::string(argv[1]) + "/" + variant).c_str());
  if (!reg) { fprintf(stderr, "load failed\n"); return 1; }
  ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, 0);
  ggml_backend_t be = ggml_backend_dev_init(dev, NULL);
  ggml_init_params ip = { 16*ggml_tensor_overhead()+ggml_graph_overhead(), NULL, true };
  ggml_context* ctx = ggml_init(ip);
  ggml_tensor* A = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ne0, ne1);
  ggml_tensor* B = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ne0, ne1);
  ggml_set_input(A); ggml_set_input(B);
  ggml_tensor* y = nullptr;
  if (op == "swiglu") y = ggml_swiglu_split(ctx, A, B);
  else if (op == "norm") y = ggml_norm(ctx, A, param);
  else if (op == "gelu") y = ggml_gelu(ctx, A);
  else if (op == "softmax") y = ggml_soft_max_ext(ctx, A, nullptr, param, 0.0f);
  else { fprintf(stderr, "unknown op %s\n", op.c_str()); return 2; }
  ggml_set_output(y);
  ggml_cgraph* gf = ggml_new_graph(ctx); ggml_build_forward_expand(gf, y);
  ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_dev_buffer_type(dev));
  ggml_gallocr_alloc_graph(ga, gf);
  auto a = rd(argv[7]);
  ggml_backend_tensor_set(A, a.data(), 0, ggml_nbytes(A));
  if (op == "swiglu") { auto b = rd(argv[8]); ggml_backend_tensor_set(B, b.data(), 0, ggml_nbytes(B)); }
  ggml_backend_graph_compute(be, gf);
  std::vector<float> out(ggml_nelements(y)); ggml_backend_tensor_get(y, out.data(), 0, out.size()*4);
  FILE* f=fopen(argv[9],"wb"); fwrite(out.data(),4,out.size(),f); fclose(f);
  return 0;
}
