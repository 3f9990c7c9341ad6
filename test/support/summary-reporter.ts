/**
 * Printed at the end of every vitest run (beside the default reporter): the Node.js version the tests ran
 * on, how many tests ran and how each ended, and every skipped test grouped by why it was skipped and how
 * to run it. A skip is never silent: a suite that needs a missing tool says so in its name
 * ("... [skipped: needs nginx: apt-get install nginx]", see packages/gantry/test/helpers/requirements.ts),
 * a test skipped on purpose says why in its own name or in `ctx.skip(note)`.
 */
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';

const SKIP_MARK = /\[skipped: ([^\]]+)\]/;

export default class SummaryReporter implements Reporter {
  /** A -t filter leaves the tests it does not select skipped: those are not skips of the suite's own. */
  #filtered = false;

  onInit(vitest: Vitest): void {
    this.#filtered = vitest.config.testNamePattern !== undefined;
  }

  #skipReason(test: TestCase): string {
    const result = test.result();
    if (result.state === 'skipped' && result.note) return result.note;
    const marked = SKIP_MARK.exec(test.fullName)?.[1];
    if (marked) return marked;
    if (test.options.mode === 'todo') return `to do: ${test.name}`;
    return this.#filtered ? 'not selected by the -t filter' : `skipped in the code: ${test.fullName}`;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    const skips = new Map<string, { count: number; files: Set<string> }>();
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const { state } = test.result();
        counts[state]++;
        if (state !== 'skipped') continue;
        const reason = this.#skipReason(test);
        const entry = skips.get(reason) ?? { count: 0, files: new Set<string>() };
        entry.count++;
        entry.files.add(module.relativeModuleId);
        skips.set(reason, entry);
      }
    }
    const executed = counts.passed + counts.failed;
    const lines = [
      '',
      `Summary: Node.js ${process.version} (${process.platform} ${process.arch}): ${executed} tests executed ` +
        `(${counts.passed} passed, ${counts.failed} failed), ${counts.skipped} skipped.`,
    ];
    for (const [reason, { count, files }] of [...skips].sort((a, b) => b[1].count - a[1].count)) {
      lines.push(`  skipped ${count}: ${reason} (${[...files].join(', ')})`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
