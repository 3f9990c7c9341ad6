/**
 * pgbench's scripts for the database test types: the SQL app.mjs sends (the ids drawn from the 10,000
 * worlds as its randomWorldId does), one transaction per request.
 */
const WORLDS = 10_000;
const COUNT = 20;

const draw = (variable: string) => `\\set ${variable} random(1, ${WORLDS})`;
const selectWorld = (variable: string) => `SELECT id, randomnumber FROM world WHERE id = :${variable};`;
const indexes = Array.from({ length: COUNT }, (_, i) => i);

/** 20 worlds read one by one, as /queries?queries=20 and the reads of /updates do. */
const twentyQueries = [...indexes.map((i) => draw(`id${i}`)), ...indexes.map((i) => selectWorld(`id${i}`))];

/** The batched write of /updates: one UPDATE ... FROM (VALUES ...) for the 20 worlds read. */
const batchedUpdate = [
  ...indexes.map((i) => draw(`r${i}`)),
  `UPDATE world SET randomnumber = v.r FROM (VALUES ${indexes.map((i) => `(:id${i}::integer, :r${i}::integer)`).join(', ')}) AS v(id, r) WHERE world.id = v.id;`,
];

export const PGBENCH_SCRIPTS = {
  db: [draw('id'), selectWorld('id')],
  queries: twentyQueries,
  fortunes: ['SELECT id, message FROM fortune;'],
  updates: [...twentyQueries, ...batchedUpdate],
} as const satisfies Record<string, readonly string[]>;

export type PgbenchScript = keyof typeof PGBENCH_SCRIPTS;
