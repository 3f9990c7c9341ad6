// The test types' app (app.mjs) on node:cluster without gantry, two ways with one file:
//   PORT=8080 node cluster.mjs                 bare node:cluster: this primary forks 2 workers (bare-primary.mjs)
//   PORT=8080 pm2 start cluster.mjs -i 2       PM2's cluster mode: PM2 is the primary, this runs in its workers
// Each worker builds the app and listens on PORT (node:cluster shares the socket).
import cluster from 'node:cluster';
import { runBarePrimary } from '../apps/bare-primary.mjs';
import buildApp from './app.mjs';

const port = Number(process.env.PORT);
if (cluster.isPrimary) {
  runBarePrimary();
} else {
  const app = buildApp();
  await app.listen({ port, host: '127.0.0.1' });
  // Like gantry's drain: close (finish what is in flight, end the pool) when stopped.
  process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
}
