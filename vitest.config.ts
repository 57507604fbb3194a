import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Under CI also write machine-readable results, from which .ci/run prints its closing line.
    reporters: process.env.CI === 'true' ? ['default', ['json', { outputFile: '.tmp/vitest-results.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['broker/**/*.test.ts', 'operator/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 20_000,
          // Removing stores of many segment files in afterAll can take seconds on a busy machine.
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // Real client processes and brokers share 2 cores: one file at a time.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // A real control plane (test/e2e/cluster) and the node agent; every wait inside is bounded.
          testTimeout: 600_000,
          // beforeAll may build the control plane on a cold machine (test/e2e/cluster/setup.sh, ~13 min on 2 cores).
          hookTimeout: 3_600_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          // After the other projects (group 0): a control plane and brokers must not share the 2 cores with them.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
