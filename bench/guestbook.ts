/**
 * `npm run bench:guestbook`: the example app on a real PostgreSQL, through nginx, as `npm start` runs
 * it (2 workers, a pool of 10 each): POST (a row written) and GET (a page of 20 of 1,000 rows) against
 * the seed's page (no database) in the same run, rounds interleaved, medians; then POSTs for 24 s with
 * the database stopped at 6 s and started again at 12 s: how many were written, refused (503) or lost,
 * and how long after the restart the first write succeeded. Writes bench/results/guestbook.json and .md.
 * Settings: BENCH_ROUNDS (5), BENCH_SECONDS (5).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, exampleDatabase, gantryServe, nginxFront, stopAll } from './servers.js';
import { wrk } from './wrk.js';
import { log, median, writeResults } from './results-file.js';
import { interleavedRounds } from './rounds.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const POST_MESSAGE = fileURLToPath(new URL('./post-message.lua', import.meta.url));
const OUTAGE = { seconds: 24, stopAt: 6, startAt: 12 };

interface Contender {
  readonly key: 'page' | 'get' | 'post';
  readonly label: string;
  readonly path: string;
  readonly script?: string;
}

const CONTENDERS: readonly Contender[] = [
  { key: 'page', label: "GET / (the seed's page, no database)", path: '/' },
  { key: 'get', label: 'GET /api/messages?limit=20 (1,000 rows)', path: '/api/messages?limit=20' },
  { key: 'post', label: 'POST /api/messages (a row written)', path: '/api/messages', script: POST_MESSAGE },
];

/** Seconds from `since` to the first POST answered 201 (an error after a minute: the database never came back). */
async function firstWriteAfter(url: string, since: number): Promise<number> {
  for (;;) {
    if (performance.now() - since > 60_000) throw new Error('no write succeeded within 60 s of the restart');
    const status = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'probe', body: 'is the database back?' }),
    })
      .then((reply) => reply.status)
      .catch(() => 0);
    if (status === 201) return (performance.now() - since) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<void> {
  const { url: database, postgres } = await exampleDatabase();
  try {
    await postgres.query(
      "INSERT INTO messages (author, body) SELECT 'seed', 'message ' || n FROM generate_series(1, 1000) AS n",
      [],
      database,
    );
    const app = await gantryServe('example app', join(ROOT, 'app/dist/src/app.js'), {
      args: ['--config', join(ROOT, 'app/dist/gantry.config.js'), '--workers', '2'],
      env: { APP_ENV: 'Production', DB_CONNECTION_STRING: database },
    });
    const front = await nginxFront('nginx', Number(new URL(app.url).port));
    const base = front.url.replace(/\/$/, '');

    for (const contender of CONTENDERS)
      await wrk(base + contender.path, { seconds: 2, ...(contender.script ? { script: contender.script } : {}) });
    const runs = await interleavedRounds(CONTENDERS, ROUNDS, async (contender, round) => {
      await front.freshConnections();
      const result = await wrk(base + contender.path, {
        seconds: SECONDS,
        ...(contender.script ? { script: contender.script } : {}),
      });
      log(
        `round ${round}/${ROUNDS}  ${contender.label.padEnd(42)} ${Math.round(result.requestsPerSecond).toString().padStart(6)} req/s  p99 ${result.p99Ms.toFixed(2)} ms  failed ${result.failures}`,
      );
      return result;
    });
    const figure = (key: Contender['key']) => {
      const contender = CONTENDERS.find((c) => c.key === key) as Contender;
      const results = runs.get(contender) ?? [];
      return {
        label: contender.label,
        requestsPerSecond: Math.round(median(results.map((r) => r.requestsPerSecond))),
        p99Ms: median(results.map((r) => r.p99Ms)),
        failed: results.reduce((sum, r) => sum + r.failures, 0),
      };
    };
    const figures = { page: figure('page'), get: figure('get'), post: figure('post') };

    log(`outage: POSTs for ${OUTAGE.seconds} s, the database stopped at ${OUTAGE.stopAt} s and started at ${OUTAGE.startAt} s`);
    const before = Number((await postgres.query<{ n: string }>('SELECT count(*) AS n FROM messages', [], database))[0]?.n);
    await front.freshConnections();
    const outageRun = wrk(`${base}/api/messages`, { seconds: OUTAGE.seconds, script: POST_MESSAGE });
    await new Promise((resolve) => setTimeout(resolve, OUTAGE.stopAt * 1000));
    await postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, (OUTAGE.startAt - OUTAGE.stopAt) * 1000));
    await postgres.start();
    const recoverySeconds = await firstWriteAfter(`${base}/api/messages`, performance.now());
    const outage = await outageRun;
    const after = Number((await postgres.query<{ n: string }>('SELECT count(*) AS n FROM messages', [], database))[0]?.n);
    const written = outage.statuses[201] ?? 0;
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      rounds: ROUNDS,
      seconds: SECONDS,
      figures,
      ratios: {
        getVsPage: figures.get.requestsPerSecond / figures.page.requestsPerSecond,
        postVsPage: figures.post.requestsPerSecond / figures.page.requestsPerSecond,
      },
      outage: {
        ...OUTAGE,
        statuses: outage.statuses,
        socketErrors: outage.socketErrors,
        p99Ms: outage.p99Ms,
        // Rows the database gained beyond the 201s wrk counted (the recovery probe's one aside): the
        // requests still in flight when wrk stopped (at most its 64 connections), whose answers it no
        // longer reads. Below 0 would be writes answered 201 and lost.
        rowsBeyondThe201s: after - before - written - 1,
        firstWriteAfterRestartSeconds: Math.round(recoverySeconds * 100) / 100,
      },
    };
    const md = [
      `# The guestbook on PostgreSQL, through nginx (${result.date}, Node.js ${result.node})`,
      '',
      `2 gantry workers, a pool of 10 each, embedded PostgreSQL 18 on loopback; wrk 1 thread, 64 connections; median of ${ROUNDS} rounds of ${SECONDS} s.`,
      '',
      '| Request | req/s | p99 | failed |',
      '| --- | ---: | ---: | ---: |',
      ...CONTENDERS.map((c) => {
        const f = figures[c.key];
        return `| ${c.label} | ${f.requestsPerSecond.toLocaleString('en-US')} | ${f.p99Ms.toFixed(2)} ms | ${f.failed} |`;
      }),
      '',
      `GET / POST vs the seed's page: ${result.ratios.getVsPage.toFixed(2)} / ${result.ratios.postVsPage.toFixed(2)}.`,
      '',
      `Outage: POSTs for ${OUTAGE.seconds} s, the database stopped at ${OUTAGE.stopAt} s and back at ${OUTAGE.startAt} s: ` +
        `${Object.entries(outage.statuses)
          .map(([status, count]) => `${count.toLocaleString('en-US')} x ${status}`)
          .join(', ')}, ${outage.socketErrors} socket errors, p99 ${outage.p99Ms.toFixed(2)} ms; ` +
        `first write ${result.outage.firstWriteAfterRestartSeconds} s after the restart. ` +
        `Rows written: the 201s + ${result.outage.rowsBeyondThe201s} (requests in flight when wrk stopped, at most 64; below 0 would be lost writes).`,
      '',
    ].join('\n');
    await writeResults('guestbook', result, md);
  } finally {
    stopAll();
    await postgres.destroy();
  }
}

await main();
