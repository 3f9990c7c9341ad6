/** Timings the long suites report at their end (seconds, to the millisecond): `timed` records one step's. */
export function stopwatch(): {
  readonly timings: Record<string, number>;
  readonly timed: <T>(name: string, task: () => Promise<T>) => Promise<T>;
} {
  const timings: Record<string, number> = {};
  return {
    timings,
    timed: async (name, task) => {
      const started = performance.now();
      try {
        return await task();
      } finally {
        timings[name] = Math.round(performance.now() - started) / 1000;
      }
    },
  };
}
