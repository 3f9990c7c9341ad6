// The baseline: node:cluster with two workers and the same handler, nothing else. `node bare-cluster.mjs PORT`
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import hello from './hello-node.mjs';

const port = Number(process.argv[2]);
if (cluster.isPrimary) {
  for (let i = 0; i < 2; i++) cluster.fork();
  let ready = 0;
  cluster.on('listening', () => {
    if (++ready === 2) process.stdout.write(`bare cluster listening on ${port}\n`);
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const server = createServer({ keepAliveTimeout: 65_000 }, hello);
  server.listen({ port, host: '127.0.0.1' });
}
