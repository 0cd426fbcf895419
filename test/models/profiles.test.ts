/**
 * Every numerics profile end to end: a 6-layer EmbeddingGemma run by llama.cpp with ONE CPU
 * variant library loaded (tools/ggml-oracle/taps with GGML_ORACLE_VARIANT; for each profile the
 * first of its variants this CPU can execute) against ours in that profile: same token ids, flash
 * attention off, mean pooling, raw (unnormalized) pooled vectors compared bit for bit, and 1 − cos.
 * The profile llama.cpp loads here is also checked through node-llama-cpp (gemma-embedding.test.ts);
 * a profile no variant of which runs here (amx without AMX) is skipped with a printed notice.
 * The body is test/helpers/profiles.ts; parity/profiles.test.ts runs it at more lengths.
 */
import { profileSuite } from "../helpers/profiles.js";

// npm test's share: Q8_0 at a short and a long input, and the float types, whose kernels differ
// between the variant families, at one length; parity/profiles.test.ts runs more lengths.
profileSuite([
  { weightType: "Q8_0", dense: true, lengths: [2, 100] },
  { weightType: "F16", dense: true, lengths: [17] },
  { weightType: "BF16", dense: false, lengths: [17] }, // BF16 kernels differ in all three non-AMX families
]);
