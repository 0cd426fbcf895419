/** process.env for the length of one async call, for code that reads its settings from the environment. */

/** Sets `vars` in process.env, awaits f(), then restores each of those keys (deleting the ones that were unset) -> f's result. */
export async function withEnv<T>(vars: NodeJS.ProcessEnv, f: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const k of Object.keys(vars))
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  }
}
