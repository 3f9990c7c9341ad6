/**
 * Races `task` against a timer: the task's outcome if it settles within `ms`, else what `onTimeout`
 * returns (or throws). The timer is cleared either way, so it never holds the process open.
 */
export async function withTimeLimit<T, U>(task: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))).then(onTimeout);
  try {
    return await Promise.race([task, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
