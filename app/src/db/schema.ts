/** The tables, as Kysely sees them (migrations/*.sql creates them; the schema check keeps the two in step). */
import type { Generated } from 'kysely';

export interface MessagesTable {
  id: Generated<number>;
  author: string;
  body: string;
  created_at: Generated<Date>;
}

export interface Database {
  messages: MessagesTable;
}
