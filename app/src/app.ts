/**
 * The seed's app/app.py on Fastify, served by gantry: `gantry serve dist/src/app.js`.
 * The default export is a factory; gantry calls it once per worker and serves the Fastify instance.
 */
import { hostname } from 'node:os';
import Fastify from 'fastify';
import { runInThread } from 'gantry/threads';
import { config } from './config/index.js';
import { indexPage } from './page.js';
import type { PrimesResult } from './tasks/primes.js';

const PRIMES_TASK = new URL('./tasks/primes.js', import.meta.url);
const MAX_PRIMES_LIMIT = 200_000_000;

export default function buildApp() {
  const app = Fastify({
    // gantry removes X-Forwarded-* headers unless they come from a trusted proxy (forwarded-allow-ips),
    // so trusting exactly one hop is safe: request.ip is the address nginx saw, never a spoofed one.
    trustProxy: (_address, hop) => hop < 1,
    logger: { level: 'warn' },
  });
  const page = indexPage(config);

  app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(page(new Date())));

  // What the app knows about the caller (the client address and scheme gantry and nginx vouch for),
  // and which server answered (a container, when scaled out).
  app.get('/whoami', (request) => ({
    client: request.ip,
    scheme: request.protocol,
    host: request.host,
    server: hostname(),
  }));

  // CPU work off the event loop: the seed's "quick burst CPU intensive tasks", on gantry's thread pool.
  app.get<{ Querystring: { below?: string } }>('/primes', async (request, reply) => {
    const below = Number(request.query.below ?? 1_000_000);
    if (!Number.isInteger(below) || below < 0 || below > MAX_PRIMES_LIMIT) {
      return reply.code(400).send({ error: `below must be an integer from 0 to ${MAX_PRIMES_LIMIT}` });
    }
    const started = performance.now();
    const result = await runInThread<PrimesResult>(PRIMES_TASK, { below });
    return { ...result, ms: Math.round(performance.now() - started) };
  });

  return app;
}
