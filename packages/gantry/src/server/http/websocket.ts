/**
 * What gantry knows of the WebSocket protocol (RFC 6455) without owning the app's WebSocket library
 * (ws, Socket.IO's engine, @fastify/websocket): whether a handshake is valid before the app sees it, which
 * status the app's answer on the raw socket had (101: it switched protocols), and the close frame gantry
 * sends when a worker drains.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** A client's key: 16 random bytes, base64 (RFC 6455 4.1). */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

export interface HandshakeRefusal {
  readonly status: number;
  readonly reason: string;
  /** Extra header lines (CRLF-terminated) for the raw answer. */
  readonly headers?: string;
}

/** Whether the request asks to upgrade to WebSocket (any other protocol is the app's business). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.headers.upgrade?.toLowerCase() === 'websocket';
}

/**
 * Why a WebSocket handshake is not one the app could accept, or undefined when it is valid: a GET with a
 * well-formed key and version 13 (an unknown version gets 426 naming the one servers speak).
 */
export function handshakeRefusal(req: IncomingMessage): HandshakeRefusal | undefined {
  if (req.method !== 'GET') return { status: 400, reason: 'a WebSocket handshake must be a GET' };
  const version = req.headers['sec-websocket-version'];
  if (version !== '13') {
    return {
      status: 426,
      reason: `unsupported Sec-WebSocket-Version ${JSON.stringify(version ?? null)}`,
      headers: 'Sec-WebSocket-Version: 13\r\n',
    };
  }
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !WEBSOCKET_KEY.test(key)) return { status: 400, reason: 'missing or malformed Sec-WebSocket-Key' };
  return undefined;
}

/** RFC 6455 close codes gantry sends. */
export const CloseCode = { GOING_AWAY: 1001 } as const;

/** An unmasked close frame (servers never mask) with `code` and a short UTF-8 reason. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const frame = Buffer.allocUnsafe(4 + text.length);
  frame[0] = 0x88; // FIN + opcode 8 (close)
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

/**
 * Calls `onAnswer(status)` with the HTTP status of the first thing the app writes on an upgrade's socket
 * (101 when it switched protocols); the socket's write is wrapped until then, never after.
 */
export function watchAnswer(socket: Socket, onAnswer: (status: number) => void): void {
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    delete (socket as Partial<Pick<Socket, 'write'>>).write;
    const [chunk] = args;
    const head =
      typeof chunk === 'string'
        ? chunk.slice(0, 12)
        : Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(12, chunk.byteLength)).toString('latin1');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
    onAnswer(status === undefined ? 0 : Number(status));
    return socket.write(...args);
  } as Socket['write'];
}

/**
 * Calls `onClose()` once the app writes what starts a close frame (its first byte 0x88) on a WebSocket's
 * socket: the app is closing it itself, so gantry must not send one too. Only while a worker drains:
 * never on the hot path. (A data frame's payload that happens to start with 0x88 counts too; gantry then
 * leaves that socket to the app and its deadline, which loses nothing.)
 */
export function watchForClose(socket: Socket, onClose: () => void): void {
  // Whatever write the socket has now (its prototype's, or another wrapper), put back once seen.
  const own = Object.getOwnPropertyDescriptor(socket, 'write');
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const write = socket.write;
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    const [chunk] = args;
    if (typeof chunk !== 'string' && chunk[0] === 0x88) {
      if (own) Object.defineProperty(socket, 'write', own);
      else delete (socket as Partial<Pick<Socket, 'write'>>).write;
      onClose();
    }
    return Reflect.apply(write, socket, args);
  } as Socket['write'];
}
