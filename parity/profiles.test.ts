/**
 * Every numerics profile end to end against its own llama.cpp variant library (test/helpers/profiles.ts),
 * at more lengths than npm test's test/models/profiles.test.ts: `npm run test:parity`.
 */
import { profileSuite } from "../test/helpers/profiles.js";

profileSuite([
  { weightType: "Q8_0", dense: true, lengths: [2, 17, 100, 300] },
  { weightType: "F16", dense: true, lengths: [2, 17, 100] },
  { weightType: "BF16", dense: false, lengths: [17, 64] }, // BF16 kernels differ in all three non-AMX families
  { weightType: "Q4_0", dense: true, lengths: [17, 100] },
]);
