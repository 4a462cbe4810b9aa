import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSpawnMethod, findExecutable, spawnChain, type SpawnMethod } from '../../src/agent/spawn-chain.js';
import { collect, type Outcome } from '../support/chain.js';

/** Run argv to its end, feeding `input`, with both events' arguments. */
function run(method: SpawnMethod, argv: string[], input = '', env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  const child = spawnChain(argv, env, method);
  return collect(child, input);
}

it('uses posix_spawn on this machine (koffi and glibc are there)', () => {
  expect(defaultSpawnMethod()).toBe('posix_spawn');
});

describe.each(['posix_spawn', 'node'] as const)('spawnChain by %s', (method) => {
  it('connects stdin, stdout and stderr, and reports the exit code on exit and close', async () => {
    const r = await run(method, ['sh', '-c', 'cat; echo oops >&2; exit 7'], 'hello\n');
    expect(r).toMatchObject({ stdout: 'hello\n', stderr: 'oops\n', exit: [7, null], close: [7, null] });
  });

  it('reports the signal that ended the process, and reaps it', async () => {
    const child = spawnChain(['sleep', '30'], process.env, method);
    const done = collect(child);
    setTimeout(() => process.kill(child.pid!, 'SIGTERM'), 50);
    const r = await done;
    expect(r.exit).toEqual([null, 'SIGTERM']);
    // Reaped: no zombie left behind under its pid.
    expect(existsSync(`/proc/${r.pid}`)).toBe(false);
  });

  it('starts it in a session and process group of its own', async () => {
    const r = await run(method, ['cat', '/proc/self/stat']);
    // pid (comm) state ppid pgrp session ...
    const fields = r.stdout.slice(r.stdout.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[2])).toBe(r.pid);
    expect(Number(fields[3])).toBe(r.pid);
  });

  it('gives it every signal at its default, none blocked (Node ignores SIGPIPE)', async () => {
    const r = await run(method, ['cat', '/proc/self/status']);
    const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(r.stdout)![1]}`);
    // Signals 1-31; glibc's posix_spawn leaves its two internal ones (32, 33) ignored,
    // which every glibc program resets when it starts.
    expect(mask('SigIgn') & 0x7fffffffn).toBe(0n);
    expect(mask('SigBlk')).toBe(0n);
  });

  it("passes it no other chain's sockets, only its own stdio", async () => {
    const other = spawnChain(['sleep', '30'], process.env, method);
    const r = await run(method, ['find', '/proc/self/fd/', '-lname', 'socket:*', '-printf', '%f\n']);
    process.kill(other.pid!);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['0', '1', '2']);
  });

  it("passes exactly the given environment and looks the program up in its PATH, not Node's", async () => {
    const bin = mkdtempSync(join(tmpdir(), 'consfig-spawn-'));
    writeFileSync(join(bin, 'only-here'), '#!/bin/sh\necho "$A|$PATH"\n');
    chmodSync(join(bin, 'only-here'), 0o755);
    const env = { PATH: bin, A: 'x y\nz', B: undefined };
    expect((await run(method, ['only-here'], '', env)).stdout).toBe(`x y\nz|${bin}\n`);
    expect(findExecutable('only-here', process.env)).toBeUndefined();
    expect((await run(method, ['/usr/bin/env'], '', env)).stdout).toBe(`PATH=${bin}\nA=x y\nz\n`);
  });

  it('finds a program again where it went after it was found (the search is kept for the run)', async () => {
    const [a, b] = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'consfig-spawn-')));
    const env = { PATH: `${a!}:${b!}` };
    writeFileSync(join(b!, 'moves'), '#!/bin/sh\necho b\n', { mode: 0o755 });
    expect((await run(method, ['moves'], '', env)).stdout).toBe('b\n');
    // Gone from where it was found, there now in the PATH's other directory.
    rmSync(join(b!, 'moves'));
    writeFileSync(join(a!, 'moves'), '#!/bin/sh\necho a\n', { mode: 0o755 });
    expect((await run(method, ['moves'], '', env)).stdout).toBe('a\n');
    rmSync(join(a!, 'moves'));
    const child = spawnChain(['moves'], env, method);
    child.stdout.resume();
    child.stderr.resume();
    expect((await new Promise<NodeJS.ErrnoException>((resolve) => child.on('error', resolve))).code).toBe('ENOENT');
  });

  it('fails as Node does for a program that is not there: an error event, ENOENT', async () => {
    const child = spawnChain(['consfig-no-such-program'], process.env, method);
    child.stdout.resume();
    child.stderr.resume();
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => child.on('error', resolve));
    expect(child.pid).toBeUndefined();
    expect(error.code).toBe('ENOENT');
    expect(error.message).toBe('spawn consfig-no-such-program ENOENT');
  });

  it('fails as Node does for a file that is not executable: an error event, EACCES', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'consfig-spawn-')), 'not-a-program');
    writeFileSync(file, 'echo no\n', { mode: 0o644 });
    const child = spawnChain([file], process.env, method);
    child.stdout.resume();
    child.stderr.resume();
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => child.on('error', resolve));
    expect([error.code, error.message]).toEqual(['EACCES', `spawn ${file} EACCES`]);
  });

  it('runs many at once, each answered on its own pipes', async () => {
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => run(method, ['sh', '-c', `read x; echo "$x-${i}"; exit ${i}`], `n\n`)),
    );
    all.forEach((r, i) => expect(r).toMatchObject({ stdout: `n-${i}\n`, exit: [i, null] }));
  });
});
