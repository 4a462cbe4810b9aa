import { createRequire } from 'node:module';

/**
 * This package's version, from its package.json. Pure, so that code bundled for the far
 * end (an image: CommonJS, where import.meta.url is empty) leaves it out unless used.
 */
function ownVersion(): string {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export const VERSION = /* @__PURE__ */ ownVersion();
