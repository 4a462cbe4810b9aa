import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, file = 'index') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}.ts`, import.meta.url));
const exactly = (name: string) => new RegExp(`^${name.replace(/[/]/g, '\\/')}$`);

export default defineConfig({
  resolve: {
    // Tests run against the sources; the CLI tests run the built binary.
    alias: [
      { find: exactly('@consfig/core'), replacement: src('core') },
      { find: exactly('@consfig/core/property'), replacement: src('core', 'public/property') },
      { find: exactly('@consfig/core/hop'), replacement: src('core', 'public/hop') },
      { find: exactly('@consfig/properties'), replacement: src('properties') },
      { find: exactly('@consfig/connections'), replacement: src('connections') },
      { find: exactly('@consfig/rootfs'), replacement: src('rootfs') },
    ],
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
