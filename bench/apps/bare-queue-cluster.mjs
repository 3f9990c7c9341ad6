// The queue benchmark's baseline: node:cluster with two workers, each running queue-worker.mjs with
// pg-boss and nothing else (no supervision beyond a re-fork, no metrics, no watchdog).
import cluster from 'node:cluster';
import { runBarePrimary } from './bare-primary.mjs';

if (cluster.isPrimary) {
  runBarePrimary();
} else {
  const { default: benchWorker } = await import('./queue-worker.mjs');
  const stopping = new AbortController();
  const worker = benchWorker({
    workerId: cluster.worker.id,
    workers: 2,
    signal: stopping.signal,
    track: (_what, work) => work(),
  });
  await worker.start();
  process.on('SIGTERM', async () => {
    stopping.abort();
    await worker.stop({ timeoutMs: 10_000 });
    process.exit(0);
  });
}
