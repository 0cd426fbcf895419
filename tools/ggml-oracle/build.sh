#!/usr/bin/env bash
# Build the dev-only llama.cpp oracles against the llama.cpp that node-llama-cpp ships:
# its prebuilt libraries (bins/) and, for headers, the source bundle of the same tag.
#   mm    one ggml mul_mat (weights in the AMX / CPU_REPACK / CPU buffer) -> f32 output
#   attn  llama.cpp's no-flash-attention subgraph (kq, soft_max_ext, kqv)
#   gelu  ggml-cpu's GELU fp16 lookup table
#   ops   one ggml op (swiglu, norm, gelu, soft_max_ext with a scale) on f32 rows
#   score each CPU variant library's ggml_backend_score on this CPU (0: cannot run here)
#   taps  llama_decode on token ids, dumping every named intermediate tensor (cb_eval)
# Output: .cache/ggml-oracle/{mm,attn,taps}. Needs g++ and git (no network).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.cache/ggml-oracle"
bins="$root/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
bundle="$root/node_modules/node-llama-cpp/llama/gitRelease.bundle"
mkdir -p "$out"
[ -d "$out/src" ] || git clone -q "$bundle" "$out/src"
inc="-I$out/src/include -I$out/src/ggml/include"
libs="-L$bins -l:libggml.v0.5.0.so -l:libggml-base.so -Wl,-rpath,$bins"
for t in mm attn gelu ops; do g++ -O1 -std=c++17 -w $inc "$root/tools/ggml-oracle/$t.cpp" -o "$out/$t" $libs -ldl; done
g++ -O1 -std=c++17 -w "$root/tools/ggml-oracle/score.cpp" -o "$out/score" -ldl -L"$bins" -l:libggml-base.so -Wl,-rpath,$bins
g++ -O1 -std=c++17 -w $inc "$root/tools/ggml-oracle/taps.cpp" -o "$out/taps" -L"$bins" -l:libllama.v0.5.0.so $libs
echo "built $out/{mm,attn,gelu,ops,score,taps}"
