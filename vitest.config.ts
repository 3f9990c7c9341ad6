import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/unit/**/*.test.ts', 'app/test/unit/**/*.test.ts'],
        },
      },
      {
        // Real processes, sockets and signals (and nginx): one file at a time on a 2-core machine.
        test: {
          name: 'e2e',
          include: ['packages/*/test/e2e/**/*.test.ts', 'app/test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
