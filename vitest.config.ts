import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources; the CLI tests run the built binary.
    alias: {
      '@consfig/core': src('core'),
      '@consfig/properties': src('properties'),
      '@consfig/connections': src('connections'),
      '@consfig/rootfs': src('rootfs'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['./scripts/vitest-setup.ts'],
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
