/** Plain HTTP requests for tests: a new connection each time (no pooling to outlive a test). */
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Connect from this local address (127.0.0.2 is loopback too, but not in the default trusted list). */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Retries until the server answers (or the deadline passes). */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await request(url, { timeoutMs: 2000 });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
