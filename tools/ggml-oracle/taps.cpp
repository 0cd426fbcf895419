// Dev-only oracle: run llama.cpp (shipped libllama) on token ids and dump named intermediate tensors.
#include "llama.h"
#include "ggml.h"
#include "ggml-backend.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <string>
static std::string outdir;
static int seq = 0;
static bool cb(struct ggml_tensor * t, bool ask, void *) {
  if (ask) return true; // want every tensor
  if (t->type != GGML_TYPE_F32) return true;
  std::vector<float> buf(ggml_nelements(t));
  if (!ggml_is_contiguous(t)) return true;
  ggml_backend_tensor_get(t, buf.data(), 0, ggml_nbytes(t));
  std::string n = outdir + "/" + std::to_string(seq++) + "_" + t->name + ".f32";
  for (auto & c : n) if (c == ' ') c = '_';
  FILE* f = fopen(n.c_str(), "wb"); if (f) { fwrite(buf.data(), 4, buf.size(), f); fclose(f); }
  FILE* m = fopen((outdir + "/index.txt").c_str(), "a"); fprintf(m, "%s %lld %lld %lld\n", t->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2]); fclose(m);
  return true;
}
int main(int argc, char** argv) {
  // taps <model.gguf> <outdir> <threads> tok...
  // GGML_ORACLE_BINS: the libraries' folder; GGML_ORACLE_VARIANT (optional): load only that CPU
  // variant (e.g. libggml-cpu-haswell.so) instead of the best one for this CPU.
  // GGML_ORACLE_NO_TAPS=1: only the final embedding (final.f32).
  outdir = argv[2]; int nth = atoi(argv[3]);
  std::vector<llama_token> toks; for (int i = 4; i < argc; i++) toks.push_back(atoi(argv[i]));
  const char* variant = getenv("GGML_ORACLE_VARIANT");
  if (variant && *variant) {
    if (!ggml_backend_load((std::string(getenv("GGML_ORACLE_BINS")) + "/" + variant).c_str())) { fprintf(stderr, "load %s failed\n", variant); return 1; }
  } else ggml_backend_load_all_from_path(getenv("GGML_ORACLE_BINS"));
  const char* nt = getenv("GGML_ORACLE_NO_TAPS");
  llama_backend_init();
  auto mp = llama_model_default_params(); mp.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  auto cp = llama_context_default_params();
  cp.embeddings = true; cp.n_ctx = 4096; cp.n_batch = 4096; cp.n_ubatch = 4096; cp.n_threads = nth; cp.n_threads_batch = nth;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED; cp.cb_eval = (nt && *nt == '1') ? nullptr : cb; cp.cb_eval_user_data = nullptr;
  cp.pooling_type = LLAMA_POOLING_TYPE_MEAN;
  llama_context* ctx = llama_init_from_model(model, cp);
  llama_batch b = llama_batch_init(toks.size(), 0, 1);
  for (size_t i = 0; i < toks.size(); i++) { b.token[i] = toks[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
  b.n_tokens = toks.size();
  if (llama_decode(ctx, b)) { fprintf(stderr, "decode failed\n"); return 1; }
  const float* e = llama_get_embeddings_seq(ctx, 0);
  FILE* f = fopen((outdir + "/final.f32").c_str(), "wb"); fwrite(e, 4, llama_model_n_embd_out(model), f); fclose(f);
  return 0;
}
