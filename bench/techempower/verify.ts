/**
 * Before a contender is measured, its answers are checked against the test types' rules (as the
 * TechEmpower suite's own verification does), so that no figure comes from a server doing less work:
 * the exact JSON and plaintext bodies and types, a world per query, the query-count rule (missing, not a
 * number, below 1: one; above 500: 500), fortunes with the added one, sorted, escaped, UTF-8, and updates
 * that are really written (read back from the database).
 */
import assert from 'node:assert/strict';

interface World {
  readonly id: number;
  readonly randomNumber: number;
}

export type ReadWorlds = (ids: readonly number[]) => Promise<ReadonlyMap<number, number>>;

async function get(base: string, path: string, type: RegExp): Promise<string> {
  const reply = await fetch(new URL(path, base));
  const body = await reply.text();
  assert.equal(reply.status, 200, `${path}: status ${reply.status}: ${body.slice(0, 200)}`);
  assert.match(reply.headers.get('content-type') ?? '', type, `${path}: content-type`);
  assert.ok(reply.headers.get('date'), `${path}: no Date header`);
  return body;
}

function assertWorld(value: unknown, where: string): asserts value is World {
  const world = value as World;
  assert.ok(Number.isInteger(world.id) && world.id >= 1 && world.id <= 10_000, `${where}: id ${JSON.stringify(value)}`);
  assert.ok(Number.isInteger(world.randomNumber), `${where}: randomNumber ${JSON.stringify(value)}`);
}

async function worlds(base: string, path: string, expected: number): Promise<World[]> {
  const list = JSON.parse(await get(base, path, /^application\/json/)) as unknown[];
  assert.ok(
    Array.isArray(list) && list.length === expected,
    `${path}: ${expected} worlds expected, got ${JSON.stringify(list).slice(0, 100)}`,
  );
  list.forEach((world, i) => assertWorld(world, `${path} [${i}]`));
  return list as World[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#34': '"', '#39': "'", '#x27': "'" };
const unescapeHtml = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|#34|#39|#x27);/g, (_, name: string) => ENTITIES[name] ?? '');

async function verifyFortunes(base: string, fortunes: readonly string[]): Promise<void> {
  const page = await get(base, '/fortunes', /^text\/html; ?charset=utf-8$/i);
  // Whitespace between the tags is allowed, as TechEmpower's own check allows it.
  const rows = [...page.matchAll(/<tr>\s*<td>(\d+)<\/td>\s*<td>(.*?)<\/td>\s*<\/tr>/g)].map((m) => unescapeHtml(m[2] ?? ''));
  const expected = [...fortunes, 'Additional fortune added at request time.'].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(rows, expected, '/fortunes: every fortune and the added one, sorted by message');
  assert.ok(!page.includes('<script>'), '/fortunes: the markup in a fortune is not escaped');
}

export async function verifyAnswers(
  name: string,
  base: string,
  database: { fortunes: readonly string[]; readWorlds: ReadWorlds },
): Promise<void> {
  try {
    assert.deepEqual(JSON.parse(await get(base, '/json', /^application\/json/)), { message: 'Hello, World!' });
    assert.equal(await get(base, '/plaintext', /^text\/plain/), 'Hello, World!');
    assertWorld(JSON.parse(await get(base, '/db', /^application\/json/)), '/db');
    for (const [query, count] of [
      ['20', 20],
      ['', 1],
      ['foo', 1],
      ['0', 1],
      ['501', 500],
    ] as const)
      await worlds(base, `/queries?queries=${query}`, count);
    await verifyFortunes(base, database.fortunes);
    const updated = await worlds(base, '/updates?queries=20', 20);
    const stored = await database.readWorlds(updated.map((w) => w.id));
    // A batch may hold an id twice: the row then has one of its new numbers.
    for (const world of updated) {
      const others = updated.filter((w) => w.id === world.id).map((w) => w.randomNumber);
      assert.ok(
        others.includes(stored.get(world.id) ?? -1),
        `/updates: world ${world.id} was answered ${world.randomNumber} but holds ${stored.get(world.id)}`,
      );
    }
  } catch (error) {
    throw new Error(`${name} does not answer as the test types require: ${(error as Error).message}`, { cause: error });
  }
}
