import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@oversync/source'] },
  ssr: { resolve: { conditions: ['@oversync/source'] } },
  test: {
    include: ['interop/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
