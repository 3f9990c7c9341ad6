// The baselines' node:cluster primary: two workers, each re-forked at once when it exits (not when
// stopped), SIGTERM passed on; nothing else (no backoff, no drain, no watchdog).
import cluster from 'node:cluster';

export function runBarePrimary() {
  for (let i = 0; i < 2; i++) cluster.fork();
  cluster.on('exit', (_worker, code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') cluster.fork();
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
}
