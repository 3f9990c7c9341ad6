/**
 * The guestbook's model: messages written and read through Kysely's typed queries. A database that is
 * away surfaces as DatabaseUnavailable (db/connection.ts).
 */
import type { Kysely, Selectable } from 'kysely';
import { usingDatabase } from '../db/connection.js';
import type { Database, MessagesTable } from '../db/schema.js';
import type { ListQuery, NewMessage } from './validation.js';

export interface Message {
  readonly id: number;
  readonly author: string;
  readonly body: string;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
}

function toMessage(row: Selectable<MessagesTable>): Message {
  return { id: row.id, author: row.author, body: row.body, createdAt: row.created_at.toISOString() };
}

export class MessageStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async add(message: NewMessage): Promise<Message> {
    const row = await usingDatabase(() =>
      this.#db.insertInto('messages').values(message).returningAll().executeTakeFirstOrThrow(),
    );
    return toMessage(row);
  }

  async get(id: number): Promise<Message | undefined> {
    const row = await usingDatabase(() => this.#db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst());
    return row && toMessage(row);
  }

  /** Oldest first, those after `afterId` (what a live feed has not seen yet). */
  async listAfter(afterId: number, limit: number): Promise<Message[]> {
    const rows = await usingDatabase(() =>
      this.#db.selectFrom('messages').selectAll().where('id', '>', afterId).orderBy('id', 'asc').limit(limit).execute(),
    );
    return rows.map(toMessage);
  }

  /** The newest message's id (0 for none): where a live feed starts. */
  async latestId(): Promise<number> {
    const row = await usingDatabase(() =>
      this.#db
        .selectFrom('messages')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst(),
    );
    return row?.id ?? 0;
  }

  /** Newest first; `before` continues after the last id of the previous page (keyset paging: no OFFSET scan). */
  async list({ limit, before }: ListQuery): Promise<Message[]> {
    let query = this.#db.selectFrom('messages').selectAll().orderBy('id', 'desc').limit(limit);
    if (before !== undefined) query = query.where('id', '<', before);
    return (await usingDatabase(() => query.execute())).map(toMessage);
  }
}
