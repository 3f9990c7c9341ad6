/**
 * Exports of the guestbook (the model): a row per export, created with its job in one transaction (so
 * neither exists without the other), and the job's work: every message, in batches by id, into one CSV
 * stored on the row, so that any replica can serve it. Running a job twice (a retry after its worker
 * was killed) rewrites the same row: an export has one result, never two.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import { type PgBoss, fromKysely } from 'pg-boss';
import { usingDatabase } from '../db/connection.js';
import type { Database, ExportStatus, ExportsTable } from '../db/schema.js';
import { EXPORTS_QUEUE, type ExportJob } from '../jobs/queue.js';

export interface ExportView {
  readonly id: number;
  readonly status: ExportStatus;
  readonly progress: number;
  readonly attempts: number;
  readonly rows: number | null;
  readonly error: string | null;
  readonly createdAt: string;
  readonly completedAt: string | null;
}

function toView(row: Omit<Selectable<ExportsTable>, 'csv'>): ExportView {
  return {
    id: row.id,
    status: row.status,
    progress: row.progress,
    attempts: row.attempts,
    rows: row.rows_written,
    error: row.error,
    createdAt: row.created_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
  };
}

/** A CSV field: quoted, its quotes doubled (RFC 4180); a leading =, +, - or @ defused for spreadsheets. */
function csvField(value: string): string {
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return `"${safe.replaceAll('"', '""')}"`;
}

const VIEW_COLUMNS = [
  'id',
  'status',
  'progress',
  'attempts',
  'rows_written',
  'error',
  'created_at',
  'completed_at',
  'started_at',
  'job_id',
] as const;

export class ExportStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The row and its job, in one transaction. */
  create(boss: PgBoss): Promise<ExportView> {
    return usingDatabase(() =>
      this.#db.transaction().execute(async (trx) => {
        const row = await trx.insertInto('exports').defaultValues().returning(VIEW_COLUMNS).executeTakeFirstOrThrow();
        const job: ExportJob = { exportId: row.id };
        const jobId = await boss.send(EXPORTS_QUEUE, job, { db: fromKysely(trx), singletonKey: `export-${row.id}` });
        await trx.updateTable('exports').set({ job_id: jobId }).where('id', '=', row.id).execute();
        return toView(row);
      }),
    );
  }

  async get(id: number): Promise<ExportView | undefined> {
    const row = await usingDatabase(() =>
      this.#db.selectFrom('exports').select(VIEW_COLUMNS).where('id', '=', id).executeTakeFirst(),
    );
    return row && toView(row);
  }

  /** The CSV of a completed export; undefined while it is not. */
  async csv(id: number): Promise<string | undefined> {
    const row = await usingDatabase(() => this.#db.selectFrom('exports').select('csv').where('id', '=', id).executeTakeFirst());
    return row?.csv ?? undefined;
  }

  /**
   * The job: marks the export active (counting the attempt), reads every message in batches, reports
   * progress, then stores the CSV and completes the row in one statement. A completed export is left
   * as it is.
   */
  async run(id: number, options: { batchSize: number; batchDelayMs: number; signal?: AbortSignal }): Promise<void> {
    const started = await this.#db
      .updateTable('exports')
      .set((eb) => ({ status: 'active', attempts: eb('attempts', '+', 1), started_at: new Date(), error: null }))
      .where('id', '=', id)
      .where('status', '<>', 'completed')
      .returning('id')
      .executeTakeFirst();
    if (!started) return;
    const { total } = await this.#db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<string>().as('total'))
      .executeTakeFirstOrThrow();
    const lines = ['id,author,body,created_at'];
    let after = 0;
    for (;;) {
      const batch = await this.#db
        .selectFrom('messages')
        .selectAll()
        .where('id', '>', after)
        .orderBy('id')
        .limit(options.batchSize)
        .execute();
      if (batch.length === 0) break;
      // A worker stopping past its budget: pg-boss has failed the job back to the queue, so stop here.
      options.signal?.throwIfAborted();
      for (const m of batch)
        lines.push([String(m.id), csvField(m.author), csvField(m.body), m.created_at.toISOString()].join(','));
      after = batch.at(-1)!.id;
      const progress = Math.min(99, Math.floor(((lines.length - 1) / Math.max(1, Number(total))) * 100));
      await this.#db.updateTable('exports').set({ progress }).where('id', '=', id).execute();
      if (options.batchDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.batchDelayMs));
    }
    await this.#db
      .updateTable('exports')
      .set({
        status: 'completed',
        progress: 100,
        csv: `${lines.join('\n')}\n`,
        rows_written: lines.length - 1,
        completed_at: new Date(),
      })
      .where('id', '=', id)
      .where('status', '<>', 'completed')
      .execute();
  }

  /** An attempt failed and the queue will retry it: the export shows it waiting again, and why. */
  async attemptFailed(id: number, error: string): Promise<void> {
    await this.#db
      .updateTable('exports')
      .set({ status: 'queued', error })
      .where('id', '=', id)
      .where('status', '=', 'active')
      .execute();
  }

  /** The queue gave up (every retry failed: dead-lettered): the export shows the last attempt's error. */
  async fail(id: number): Promise<void> {
    await this.#db
      .updateTable('exports')
      .set((eb) => ({
        status: 'failed',
        error: sql<string>`'gave up after ' || ${eb.ref('attempts')} || ' attempts: ' || coalesce(${eb.ref('error')}, 'no error recorded')`,
      }))
      .where('id', '=', id)
      .where('status', 'not in', ['completed', 'failed'])
      .execute();
  }
}
