/** The tables, as Kysely sees them (migrations/*.sql creates them; the schema check keeps the two in step). */
import type { Generated } from 'kysely';

export interface MessagesTable {
  id: Generated<number>;
  author: string;
  body: string;
  created_at: Generated<Date>;
}

export type ExportStatus = 'queued' | 'active' | 'completed' | 'failed';

export interface ExportsTable {
  id: Generated<number>;
  status: Generated<ExportStatus>;
  progress: Generated<number>;
  attempts: Generated<number>;
  rows_written: number | null;
  error: string | null;
  csv: string | null;
  job_id: string | null;
  created_at: Generated<Date>;
  started_at: Date | null;
  completed_at: Date | null;
}

export interface Database {
  messages: MessagesTable;
  exports: ExportsTable;
}
