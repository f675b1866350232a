import { defineConfig } from 'vitest/config';

// Unit tests live beside their code (*.test.ts); cross-layer tests under test/. Every test that needs
// the engine starts its own stack in a temporary root, so files run side by side.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
