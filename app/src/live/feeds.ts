/**
 * The live feeds a worker pushes to its WebSockets and event streams, from the database's
 * notifications (notifications.ts): new messages, in order and each once, and exports' changes.
 */
import type { ExportStore, ExportView } from '../exports/exports.js';
import type { Message, MessageStore } from '../guestbook/messages.js';
import type { Notifications } from './notifications.js';

interface Log {
  warn(fields: object, message: string): void;
}

const CATCH_UP_PAGE = 100;
/**
 * A read that failed is tried again this much later, a few times: right after PostgreSQL restarts, the
 * pool's idle connections are dead and the first query on one fails, while the messages missed meanwhile
 * would otherwise wait for the next notification.
 */
const READ_RETRY_MS = 1000;
const READ_RETRIES = 10;

/** Calls `retry` with the next attempt READ_RETRY_MS from now, unless `attempt` has spent the retries; says whether it will. */
function retryLater(attempt: number, retry: (attempt: number) => void): boolean {
  if (attempt >= READ_RETRIES) return false;
  setTimeout(() => retry(attempt + 1), READ_RETRY_MS).unref();
  return true;
}

/**
 * New messages, oldest first, each published once. A notification only says "something new": the
 * feed reads everything after the last id it published, so a burst costs one query, and a reconnect
 * (notifications lost meanwhile) catches up the same way.
 */
export class MessageFeed {
  readonly #store: MessageStore;
  readonly #log: Log;
  readonly #subscribers = new Set<(message: Message) => void>();
  #lastId: number | undefined;
  #reading: Promise<void> | undefined;
  #readAgain = false;

  constructor(store: MessageStore, notifications: Notifications, log: Log) {
    this.#store = store;
    this.#log = log;
    notifications.listen('guestbook_messages', () => this.#catchUp());
    notifications.onConnected(() => this.#catchUp());
  }

  /** Calls `subscriber` with each new message; returns the unsubscribe. */
  subscribe(subscriber: (message: Message) => void): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** `attempt`: how many reads before this one failed in a row (a notification or a reconnection starts at 0). */
  #catchUp(attempt = 0): void {
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#read()
      .catch((error: unknown) => {
        this.#log.warn({ err: (error as Error).message }, 'the live feed could not read new messages');
        retryLater(attempt, (next) => this.#catchUp(next));
      })
      .finally(() => {
        this.#reading = undefined;
        if (this.#readAgain) {
          this.#readAgain = false;
          this.#catchUp();
        }
      });
  }

  async #read(): Promise<void> {
    // The first connection starts from the newest message: the page shows what came before.
    if (this.#lastId === undefined) {
      this.#lastId = await this.#store.latestId();
      return;
    }
    for (;;) {
      const messages = await this.#store.listAfter(this.#lastId, CATCH_UP_PAGE);
      for (const message of messages) {
        this.#lastId = message.id;
        for (const subscriber of this.#subscribers) subscriber(message);
      }
      if (messages.length < CATCH_UP_PAGE) return;
    }
  }
}

/** Exports' changes (status, progress), to whoever watches that export; a failed read is tried again like the messages'. */
export class ExportFeed {
  readonly #store: ExportStore;
  readonly #log: Log;
  readonly #watchers = new Map<number, Set<(view: ExportView) => void>>();
  readonly #retrying = new Set<number>();

  constructor(store: ExportStore, notifications: Notifications, log: Log) {
    this.#store = store;
    this.#log = log;
    notifications.listen('guestbook_exports', (payload) => this.#changed(Number(payload)));
    // Changes missed while away: every watched export is read again.
    notifications.onConnected(() => {
      for (const id of this.#watchers.keys()) this.#changed(id);
    });
  }

  /** Calls `watcher` with the export's view each time it changes; returns the unwatch. */
  watch(id: number, watcher: (view: ExportView) => void): () => void {
    const watchers = this.#watchers.get(id) ?? new Set();
    watchers.add(watcher);
    this.#watchers.set(id, watchers);
    return () => {
      watchers.delete(watcher);
      if (watchers.size === 0) this.#watchers.delete(id);
    };
  }

  /** `attempt` as in MessageFeed's catch-up; one retry waits per export, whatever the notifications meanwhile. */
  #changed(id: number, attempt = 0): void {
    const watchers = this.#watchers.get(id);
    if (!watchers) return;
    this.#store.get(id).then(
      (view) => {
        if (view) for (const watcher of watchers) watcher(view);
      },
      (error: unknown) => {
        this.#log.warn({ err: (error as Error).message, exportId: id }, 'could not read a changed export');
        if (this.#retrying.has(id)) return;
        const retry = (next: number) => {
          this.#retrying.delete(id);
          this.#changed(id, next);
        };
        if (retryLater(attempt, retry)) this.#retrying.add(id);
      },
    );
  }
}
