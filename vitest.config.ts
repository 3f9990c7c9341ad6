import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The default report, then a summary: the Node.js version, counts, and every skip with its reason.
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'packages/*/test/unit/**/*.test.ts',
            'app/test/unit/**/*.test.ts',
            'test/docs/**/*.test.ts',
            'test/bench/**/*.test.ts',
          ],
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
      {
        // Real Prometheus and a real browser (Debian's prometheus and chromium): npm run test:observability.
        test: {
          name: 'observability',
          include: ['test/observability/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The frontend in a real browser (Debian's chromium) on the local stack: npm run test:browser.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Minutes of load with reloads (wrk, nginx): npm run test:soak.
        test: {
          name: 'soak',
          include: ['test/soak/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Real builds of six frameworks served by gantry (npm ci and builds: minutes): npm run test:frameworks.
        test: {
          name: 'frameworks',
          include: ['test/matrix/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 60_000,
        },
      },
      {
        // deploy/kubernetes rendered (kubectl kustomize), validated and checked offline: npm run test:kubernetes.
        test: {
          name: 'kubernetes',
          include: ['test/kubernetes/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // The container deployment on a Docker engine or podman: minutes, not seconds; npm run test:containers.
        test: {
          name: 'containers',
          include: ['test/containers/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 1_200_000,
        },
      },
    ],
  },
});
