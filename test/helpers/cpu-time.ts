/**
 * CPU time for the tests' budgets: user + system time of this process, which other processes on a
 * busy machine do not inflate as they would wall time.
 */

/** fn's result and the CPU milliseconds it took, the least of `runs` calls (the last call's result). */
export function cpuMs<T>(fn: () => T, runs = 1): [T, number] {
  let r: T;
  let best = Infinity;
  do {
    const c0 = process.cpuUsage();
    r = fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  } while (--runs > 0);
  return [r, best];
}

/**
 * cpuMs of one call, measured again (the least of 3) when that call is over budgetMs: a GC pause,
 * whose threads count as this process's CPU, lands in one call; a slow input is slow every time.
 */
export function cpuMsWithin<T>(fn: () => T, budgetMs: number): [T, number] {
  const first = cpuMs(fn);
  return first[1] <= budgetMs ? first : cpuMs(fn, 3);
}
