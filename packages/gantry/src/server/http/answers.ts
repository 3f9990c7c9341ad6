/**
 * Every answer gantry writes itself, never the app: refusals, the 500 for an app that failed, the health
 * answers, and the ones written on the raw socket (a request node's parser refused, a CONNECT).
 * All are plain text and, but for the health answers, close the connection.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { lingeringClose } from './connections.js';

const TEXT = 'text/plain; charset=utf-8';

/** The methods gantry serves, for a 405's Allow. */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * A plain-text answer that closes the connection: a refused request, or a 500 for an app that failed.
 * A response already begun cannot be replaced, so its connection is cut instead.
 */
export function answerAndClose(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': TEXT, connection: 'close' });
  res.end(text);
}

/**
 * PREFIX/live or PREFIX/ready: 200, or 503 for readiness with why (`draining`, or the app's failing
 * checks, `name: reason` a line each). A draining worker closes the connection.
 */
export function answerHealth(res: ServerResponse, ready: boolean, reasons: readonly string[], draining: boolean): void {
  if (res.destroyed) return;
  res.writeHead(ready ? 200 : 503, {
    'content-type': TEXT,
    'cache-control': 'no-store',
    ...(draining ? { connection: 'close' } : {}),
  });
  res.end(ready ? 'ok\n' : `${reasons.join('\n')}\n`);
}

/**
 * A 4xx (or a 503) written on the socket itself, `headers` CRLF-terminated lines added, for a request that never became one node could hand to the app;
 * not into a response that has begun (then the connection just closes). The socket lingers, so that
 * the answer is not lost to a reset.
 */
export function rawAnswer(socket: Socket, status: number, headers = ''): void {
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || current?.headersSent) return void socket.destroy();
  socket.write(rawResponse(status, headers));
  lingeringClose(socket);
}

/** gantry is not a forward proxy: a CONNECT (a tunnel request) gets 405 instead of a silent close. */
export function refuseTunnel(socket: Socket): void {
  socket.end(rawResponse(405, `Allow: ${ALLOWED_METHODS}\r\n`));
}

function rawResponse(status: number, headers = ''): string {
  const text = STATUS_CODES[status] ?? 'Bad Request';
  return `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${headers}Content-Type: ${TEXT}\r\nContent-Length: ${text.length + 1}\r\n\r\n${text}\n`;
}
