/**
 * SHA-256 for the few who need a digest (images, bundles, libvirt XML, rootfs cache
 * names): node:crypto is loaded the first time one is asked for, not at every start.
 */
import { createRequire } from 'node:module';

let crypto: typeof import('node:crypto') | undefined;

/** The SHA-256 of the parts separated by NULs, as hex. */
export function sha256Hex(...parts: (string | Buffer)[]): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const h = crypto.createHash('sha256');
  parts.forEach((p, i) => (i === 0 ? h.update(p) : h.update('\0').update(p)));
  return h.digest('hex');
}
