/**
 * Random and digest helpers that keep node:crypto out of a run that does not need it:
 * loading that module costs ~6 ms of every start, more than all a small deploy's
 * checks. Nonces come from the kernel's generator directly; digests load crypto the
 * first time one is asked for.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/** `bytes` random bytes from /dev/urandom, as hex. */
export function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    let got = 0;
    while (got < bytes) got += readSync(fd, buf, got, bytes - got, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}

let crypto: typeof import('node:crypto') | undefined;

/** The SHA-256 of the parts separated by NULs, as hex. */
export function sha256Hex(...parts: (string | Buffer)[]): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const h = crypto.createHash('sha256');
  parts.forEach((p, i) => (i === 0 ? h.update(p) : h.update('\0').update(p)));
  return h.digest('hex');
}
