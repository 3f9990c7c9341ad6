/**
 * Apps that start their own server: Next.js's standalone server.js, Nuxt's node-server, SvelteKit's
 * build/index.js, Astro standalone, react-router-serve, or any `http.createServer(...).listen(PORT)`.
 *
 * While gantry loads an app, `http.Server.prototype.listen` is replaced. The first server the app
 * listens with is adopted instead of bound: it never opens the app's port (its PORT, HOST or HOSTNAME
 * bind nothing); its 'listening' event and listen callback still come, and its `address()` reports
 * gantry's first bind address, so an app that logs or builds URLs from it sees where it is served. Its
 * 'request' listeners are then served by gantry's own servers, on gantry's binds and through gantry's
 * pipeline (limits, proxy trust, drain, access log, metrics), and its 'upgrade' listeners get the
 * upgrade requests. Any later server the app listens with listens as usual, and so does every server
 * once the app is loaded (gantry's own servers listen after that).
 */
import { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BindAddress } from '../bind.js';

/** What `address()` of an adopted server reports: gantry's first bind. */
function addressOf(bind: BindAddress): AddressInfo | string {
  if (bind.kind === 'unix') return bind.path;
  const family = bind.host.includes(':') ? 'IPv6' : 'IPv4';
  return { address: bind.host, family, port: bind.port };
}

// Put back as the prototype's own method after loading, never called detached.
// eslint-disable-next-line @typescript-eslint/unbound-method
const originalListen = Server.prototype.listen;
let active: ServerAdoption | undefined;

function interceptedListen(this: Server, ...args: unknown[]): Server {
  if (active?.adopt(this, args)) return this;
  return originalListen.apply(this, args as Parameters<Server['listen']>) as Server;
}

/**
 * Runs `load` with http.Server's listen() replaced (see the header), and puts it back after, whatever
 * happens. `reported`: what the adopted server's address() gives (a worker's first bind; none in the
 * primary, for preload).
 */
export async function adoptingServers<T>(
  reported: BindAddress | undefined,
  load: (adoption: ServerAdoption) => Promise<T>,
): Promise<T> {
  if (active) throw new Error('servers are being adopted already');
  const adoption = new ServerAdoption(reported);
  active = adoption;
  Server.prototype.listen = interceptedListen as Server['listen'];
  try {
    return await load(adoption);
  } finally {
    active = undefined;
    Server.prototype.listen = originalListen;
  }
}

export class ServerAdoption {
  readonly #reported: BindAddress | undefined;
  #adopted: Server | undefined;
  readonly #waiting = Promise.withResolvers<Server>();

  constructor(reported: BindAddress | undefined) {
    this.#reported = reported;
  }

  /** The adopted server, if the app has listened with one. */
  get adopted(): Server | undefined {
    return this.#adopted;
  }

  /** Resolves with the adopted server once the app listens with one. */
  whenAdopted(): Promise<Server> {
    return this.#waiting.promise;
  }

  /** Adopts `server` for a listen(...args) call; false when one was adopted already (it listens as usual). */
  adopt(server: Server, args: readonly unknown[]): boolean {
    if (this.#adopted !== undefined) return false;
    this.#adopted = server;
    const reported = this.#reported;
    Object.defineProperty(server, 'address', { value: () => (reported ? addressOf(reported) : null), configurable: true });
    const callback = args.findLast((arg) => typeof arg === 'function') as (() => void) | undefined;
    // As node does: the callback is a 'listening' listener, called once the (here: pretended) bind is done.
    if (callback) server.once('listening', callback);
    process.nextTick(() => server.emit('listening'));
    this.#waiting.resolve(server);
    return true;
  }
}
