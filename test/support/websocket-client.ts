/**
 * WebSocket and event-stream clients for tests: Node's own WebSocket (undici's, what browsers speak) with
 * what it received and how it closed, and an event-stream reader over fetch.
 */

/** What a client has received so far, and a wait for what is still to come. */
class Inbox<T> {
  readonly items: T[] = [];
  readonly #waiting = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const wake of this.#waiting) wake();
  }

  /** Resolves with `pick`'s first answer other than undefined, now or as items arrive; rejects with `failure()` after `timeoutMs`. */
  until<R>(pick: () => R | undefined, timeoutMs: number, failure: () => string): Promise<R> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = pick();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(failure()));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiting.delete(check);
      };
      this.#waiting.add(check);
      check();
    });
  }
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  /** performance.now() when it closed. */
  readonly at: number;
}

export interface TestSocket {
  readonly socket: WebSocket;
  readonly messages: string[];
  readonly closed: Promise<Closed>;
  /** Resolves with the first message matching `pattern` (already received or to come). */
  message(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Opens a WebSocket and resolves once it is open (rejects if it closes first or takes over 10 s). */
export function openSocket(url: string, protocols?: string | string[]): Promise<TestSocket> {
  const socket = new WebSocket(url, protocols);
  const inbox = new Inbox<string>();
  const messages = inbox.items;
  socket.addEventListener('message', (event) => inbox.push(typeof event.data === 'string' ? event.data : '(binary)'));
  const closed = new Promise<Closed>((resolve) =>
    socket.addEventListener('close', (event) =>
      resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean, at: performance.now() }),
    ),
  );
  const message = (pattern: RegExp, timeoutMs = 10_000) =>
    inbox.until(
      () => messages.find((text) => pattern.test(text)),
      timeoutMs,
      () => `no message matching ${pattern} within ${timeoutMs} ms (got ${JSON.stringify(messages.slice(-5))})`,
    );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${url}: not open within 10 s`)), 10_000);
    socket.addEventListener('open', () => {
      clearTimeout(timer);
      resolve({ socket, messages, closed, message });
    });
    void closed.then(({ code, reason }) => {
      clearTimeout(timer);
      reject(new Error(`${url}: closed before it opened (${code} ${reason})`));
    });
  });
}

export interface StreamedEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
  /** performance.now() when it arrived. */
  readonly at: number;
}

export interface EventStream {
  readonly status: number;
  readonly headers: Headers;
  readonly events: StreamedEvent[];
  /** Resolves when the server ends the stream (true) or it fails (false). */
  readonly ended: Promise<boolean>;
  /** Resolves once `count` events have arrived in all. */
  received(count: number, timeoutMs?: number): Promise<StreamedEvent[]>;
  close(): void;
}

/** Reads `url` as an event stream (text/event-stream), parsing each event as it arrives. */
export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const inbox = new Inbox<StreamedEvent>();
  const events = inbox.items;
  const read = async (): Promise<boolean> => {
    if (!response.body) return true;
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const fields = new Map<string, string[]>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const name = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            fields.set(name, [...(fields.get(name) ?? []), value]);
          }
          if (!fields.has('data')) continue;
          inbox.push({
            id: fields.get('id')?.at(-1),
            event: fields.get('event')?.at(-1),
            data: (fields.get('data') ?? []).join('\n'),
            at: performance.now(),
          });
        }
      }
      return true;
    } catch {
      return false;
    }
  };
  const ended = read();
  const received = (count: number, timeoutMs = 10_000) =>
    inbox.until(
      () => (events.length < count ? undefined : events.slice(0, count)),
      timeoutMs,
      () => `${url}: ${events.length} of ${count} events within ${timeoutMs} ms`,
    );
  return { status: response.status, headers: response.headers, events, ended, received, close: () => abort.abort() };
}
