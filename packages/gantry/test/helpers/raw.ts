/** Raw TCP exchanges, for requests no HTTP client would send. */
import { connect } from 'node:net';

export interface RawExchange {
  /** Everything the server sent, as latin-1 text. */
  readonly response: string;
  /** The status codes of the responses in it, in order. */
  readonly statuses: readonly number[];
  /** The server closed the connection (rather than the exchange timing out). */
  readonly closed: boolean;
}

/**
 * Sends `bytes` (all at once, or in `chunks` with `pauseMs` between them), half-closes unless told not
 * to (some requests are only incomplete at EOF), and reads until the server closes or `timeoutMs`.
 */
export function exchange(
  port: number,
  bytes: Buffer | string,
  options: { halfClose?: boolean; timeoutMs?: number; chunks?: number; pauseMs?: number } = {},
): Promise<RawExchange> {
  const { halfClose = true, timeoutMs = 5000, chunks = 1, pauseMs = 0 } = options;
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, statuses: parseStatuses(response), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    const send = async () => {
      const size = Math.ceil(data.length / chunks);
      for (let offset = 0; offset < data.length; offset += size) {
        if (socket.destroyed) return;
        socket.write(data.subarray(offset, offset + size));
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
      if (halfClose && !socket.destroyed) socket.end();
    };
    socket.on('connect', () => void send());
  });
}

/** The status codes of consecutive responses, walking each one's framing (Content-Length or chunked). */
export function parseStatuses(text: string): number[] {
  const statuses: number[] = [];
  let rest = text;
  for (;;) {
    const head = /^HTTP\/1\.[01] (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(rest);
    if (!head) return statuses;
    statuses.push(Number(head[1]));
    rest = rest.slice(head[0].length);
    const length = /^content-length: *(\d+)/im.exec(head[2] ?? '');
    if (length) {
      rest = rest.slice(Number(length[1]));
    } else if (/^transfer-encoding: *chunked/im.test(head[2] ?? '')) {
      const end = rest.indexOf('\r\n0\r\n\r\n');
      rest = end < 0 ? '' : rest.slice(end + 7);
    } else {
      return statuses;
    }
  }
}
