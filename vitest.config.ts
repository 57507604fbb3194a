import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Under CI also write machine-readable results, from which .ci/run prints its closing line.
    reporters: process.env.CI === 'true' ? ['default', ['json', { outputFile: '.tmp/vitest-results.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['broker/**/*.test.ts', 'operator/**/*.test.ts'],
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
    ],
  },
});
