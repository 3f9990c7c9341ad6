/**
 * The seed's app/app.py on Fastify, served by gantry: `gantry serve dist/src/app.js`.
 * The default export is a factory; gantry calls it once per worker and serves the Fastify instance.
 */
import Fastify from 'fastify';
import { config } from './config/index.js';
import { indexPage } from './page.js';

export default function buildApp() {
  const app = Fastify({
    // gantry removes X-Forwarded-* headers unless they come from a trusted proxy (forwarded-allow-ips),
    // so trusting exactly one hop is safe: request.ip is the address nginx saw, never a spoofed one.
    trustProxy: (_address, hop) => hop < 1,
    logger: { level: 'warn' },
  });
  const page = indexPage(config);

  app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(page(new Date())));

  // What the app knows about the caller: the client address and scheme gantry and nginx vouch for.
  app.get('/whoami', (request) => ({
    client: request.ip,
    scheme: request.protocol,
    host: request.host,
  }));

  return app;
}
