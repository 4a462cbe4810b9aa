/** What every chain must do, and how tests see that a connection's namespace is gone. */
import { readlinkSync } from 'node:fs';
import { expect } from 'vitest';
import type { Connection } from '@consfig/core';
import { HOSTILE_BYTES, HOSTILE_STRINGS } from '../../../core/test/support/hostile.js';
import { mountNamespacesInUse } from './machine.js';

/** Hostile round trips and both pipes drained. */
export async function exercise(conn: Connection, dir: string): Promise<void> {
  const args = await conn.run(['printf', '%s\\0', ...HOSTILE_STRINGS.slice(0, -1)]);
  expect(args.stdout.toString().split('\0').slice(0, -1)).toEqual(HOSTILE_STRINGS.slice(0, -1));
  const payloads = [...HOSTILE_STRINGS.map((s) => Buffer.from(s)), ...HOSTILE_BYTES, Buffer.alloc(200_000, 7)];
  for (const [i, data] of payloads.entries()) {
    const path = `${dir}/hostile-${i}`;
    await conn.writeFile(path, data);
    expect(Buffer.compare(await conn.readFile(path), data)).toBe(0);
  }
  const big = await conn.run(['sh', '-c', 'head -c 100000000 /dev/zero & head -c 100000000 /dev/zero >&2; wait']);
  expect([big.exitCode, big.stdout.length, big.stderr.length]).toEqual([0, 100_000_000, 100_000_000]);
}

/** The mount namespace of the agent. */
export function mntNamespaceOf(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/mnt`);
}

/** Whether any process is still in the namespace. */
export function namespaceInUse(ns: string): boolean {
  return mountNamespacesInUse().has(ns);
}
