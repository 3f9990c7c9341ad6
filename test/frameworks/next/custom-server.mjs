// Next.js custom server (https://nextjs.org/docs/app/guides/custom-server),
// except that gantry owns the listening socket: it calls createServer() and
// uses the returned (req, res) listener. Needs NODE_ENV=production and the
// full node_modules (not .next/standalone).
import next from 'next';

export default async function createServer() {
  const app = next({ dev: false, dir: import.meta.dirname });
  await app.prepare();
  const handle = app.getRequestHandler();
  return (req, res) => handle(req, res);
}
