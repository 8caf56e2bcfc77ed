import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@oversync/source'] },
  ssr: { resolve: { conditions: ['@oversync/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
