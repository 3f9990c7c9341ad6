// The baseline: node:cluster with two workers, each replaced at once when it exits, and nothing else.
//   node bare-cluster.mjs PORT [APP_MODULE]     (APP_MODULE: a file whose default export is a node listener)
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBarePrimary } from './bare-primary.mjs';

const port = Number(process.argv[2]);
const appModule = process.argv[3] ? pathToFileURL(resolve(process.argv[3])).href : './hello-node.mjs';
if (cluster.isPrimary) {
  runBarePrimary();
  let ready = 0;
  cluster.on('listening', () => {
    if (++ready === 2) process.stdout.write(`bare cluster listening on ${port}\n`);
  });
} else {
  const { default: app } = await import(appModule);
  const server = createServer({ keepAliveTimeout: 65_000 }, app);
  server.listen({ port, host: '127.0.0.1' });
}
