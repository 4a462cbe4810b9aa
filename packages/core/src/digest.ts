/**
 * SHA-256 for the few who need a digest (images, bundles, libvirt XML, rootfs cache
 * names): node:crypto is loaded the first time one is asked for, not at every start.
 * And FNV-1a for names that only need to differ (cache keys, sockets).
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

/**
 * A name for cache keys and the like, not a defence against anyone: FNV-1a (64 bits, over
 * UTF-16 code units, kept as two 32-bit halves so every step is exact in a double) of the
 * parts and their lengths, as hex. Not node:crypto, whose loading alone costs a start more
 * than most of what needs such a name.
 */
export function fnv1a64Hex(...parts: string[]): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const mix = (unit: number) => {
    lo = (lo ^ unit) >>> 0;
    // times 2^40 + 0x1b3: the 2^40 part is lo shifted into hi
    const low = lo * 0x1b3;
    hi = (hi * 0x1b3 + Math.floor(low / 0x100000000) + (lo & 0xffffff) * 0x100) >>> 0;
    lo = low >>> 0;
  };
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) mix(p.charCodeAt(i));
    mix(p.length & 0xffff);
    mix(p.length >>> 16);
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
