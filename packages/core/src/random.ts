/**
 * Random hex for nonces and temp names, from the kernel's generator directly: node:crypto
 * costs ~6 ms of every start to load, more than all a small deploy's checks. Read a block
 * at a time, so that a deploy writing many files opens /dev/urandom once, not per file.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const pool = Buffer.alloc(512);
let used = pool.length;

function refill(): void {
  const fd = openSync('/dev/urandom', 'r');
  try {
    let got = 0;
    while (got < pool.length) got += readSync(fd, pool, got, pool.length - got, null);
  } finally {
    closeSync(fd);
  }
  used = 0;
}

/** `bytes` (at most 512) random bytes, as hex; no byte is handed out twice. */
export function randomHex(bytes: number): string {
  if (bytes > pool.length) throw new RangeError(`randomHex gives at most ${pool.length} bytes, not ${bytes}`);
  if (used + bytes > pool.length) refill();
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}
