/** Seeded, fast, reproducible random numbers for synthetic weights (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Fill with uniform values of mean `mean` and standard deviation `std`. */
  fill(dst: Float32Array, std: number, mean = 0): Float32Array {
    const a = std * Math.sqrt(3);
    for (let i = 0; i < dst.length; i++) dst[i] = mean + a * (2 * this.next() - 1);
    return dst;
  }
}

/** A per-tensor seed derived from the model seed and the tensor name (FNV-1a). */
export function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
