/**
 * Keep-alive load for tests: `connections` clients each send requests back to back until stopped.
 * Every request that fails (reset, refused, timed out) or is not answered 2xx is counted; node's http
 * client never retries, so a request lost by the server shows up here.
 */
import { Agent, request } from 'node:http';

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  /** Distinct response bodies seen, with counts (to tell old code from new). */
  readonly bodies: Readonly<Record<string, number>>;
}

export interface LoadOptions {
  readonly connections?: number;
  readonly method?: string;
  readonly body?: string;
  /** The body's Content-Type (default text/plain). */
  readonly contentType?: string;
  /** A new connection for every request, instead of keep-alive. */
  readonly newConnections?: boolean;
}

export interface Load {
  /** Resolves once at least `count` more requests have been answered. */
  waitFor(count: number): Promise<void>;
  stop(): Promise<LoadResult>;
}

export function startLoad(url: string, options: LoadOptions = {}): Load {
  const { connections = 16, method = 'GET', body, contentType = 'text/plain', newConnections = false } = options;
  const agent = new Agent({ keepAlive: !newConnections, maxSockets: connections });
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const bodies: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let running = true;
  let answered = 0;
  const waiters: { target: number; resolve: () => void }[] = [];

  const settle = () => {
    answered++;
    for (const waiter of waiters.filter((w) => answered >= w.target)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  const once = () =>
    new Promise<void>((resolve) => {
      const req = request(
        url,
        { method, agent, timeout: 10_000, headers: body ? { 'content-type': contentType } : {} },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            statuses[status] = (statuses[status] ?? 0) + 1;
            bodies[text] = (bodies[text] ?? 0) + 1;
            if (status >= 200 && status < 300) ok++;
            else failed++;
            settle();
            resolve();
          });
          res.on('error', () => {});
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? error.message;
        errors[code] = (errors[code] ?? 0) + 1;
        failed++;
        settle();
        resolve();
      });
      req.end(body);
    });

  const clients = Array.from({ length: connections }, async () => {
    while (running) await once();
  });

  return {
    waitFor: (count) => new Promise((resolve) => waiters.push({ target: answered + count, resolve })),
    stop: async () => {
      running = false;
      await Promise.all(clients);
      agent.destroy();
      return { ok, failed, statuses, errors, bodies };
    },
  };
}
