import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnection, tempPathFor } from '../../src/agent/connection.js';
import type { Connection, Hop } from '../../src/connection.js';
import { AGENT_PROGRAM } from '../../src/agent/program.js';
import { PROBE_INLINE_BYTES, writeRequest } from '../../src/agent/requests.js';
import { ConnectionError, FileNotFoundError, LockedError, WriteFailedError } from '../../src/errors.js';
import { HOSTILE_BYTES, HOSTILE_STRINGS } from '../support/hostile.js';

let conn: Connection;
let dir: string;

/** @consfig/connections' runuser hop, which core's tests cannot import. */
function runuser(user: string): Hop {
  return {
    kind: 'runuser',
    describe: () => `runuser:${user}`,
    localRoot: (o) => o,
    wrap: (inner) => ['runuser', '-u', user, '--', ...inner],
  };
}

beforeAll(async () => {
  conn = await openConnection([]);
  dir = mkdtempSync(join(tmpdir(), 'consfig-agent-'));
});
afterAll(async () => {
  await conn.close();
});

describe('run', () => {
  it('passes every hostile argument through unchanged, without a shell', async () => {
    const result = await conn.run(['printf', '%s\\0', ...HOSTILE_STRINGS]);
    expect(result.exitCode).toBe(0);
    const got = result.stdout.toString('utf8').split('\0').slice(0, -1);
    expect(got).toEqual(HOSTILE_STRINGS);
    expect(existsSync('/tmp/consfig-pwned')).toBe(false);
  });

  it('passes non-UTF-8 argument bytes through', async () => {
    for (const bytes of HOSTILE_BYTES) {
      const result = await conn.run(['printf', '%s', bytes.toString('latin1')]);
      // latin1 strings are sent as UTF-8; compare the same way round
      expect(result.stdout.toString('utf8')).toBe(bytes.toString('latin1'));
    }
  });

  it('keeps stdout and stderr apart and reports the exit code', async () => {
    const result = await conn.run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result.stdout.toString()).toBe('out\n');
    expect(result.stderr.toString()).toBe('err\n');
    expect(result.exitCode).toBe(3);
  });

  it('feeds stdin data of any bytes, and survives a command that does not read it', async () => {
    const data = Buffer.concat([...HOSTILE_BYTES, Buffer.from([0, 0, 10, 0])]);
    const echoed = await conn.run(['cat'], { input: data });
    expect(Buffer.compare(echoed.stdout, data)).toBe(0);
    const ignored = await conn.run(['true'], { input: Buffer.alloc(1 << 20, 0x61) });
    expect(ignored.exitCode).toBe(0);
    expect((await conn.run(['echo', 'still in sync'])).stdout.toString()).toBe('still in sync\n');
  });

  it('sets env and cwd, and reports a missing command', async () => {
    const env = { CONSFIG_A: HOSTILE_STRINGS[7]!, CONSFIG_B: 'x\ny' };
    const result = await conn.run(['sh', '-c', 'printf "%s|%s|%s" "$CONSFIG_A" "$CONSFIG_B" "$(pwd)"'], {
      env,
      cwd: dir,
    });
    expect(result.stdout.toString()).toBe(`${env.CONSFIG_A}|x\ny|${dir}`);
    // (without a directory, a simple command of the shell's: the same words)
    const plain = await conn.run(['sh', '-c', 'printf "%s|%s" "$CONSFIG_A" "$CONSFIG_B"'], { env });
    expect(plain.stdout.toString()).toBe(`${env.CONSFIG_A}|x\ny`);
    const clean = await conn.run(['env'], { clearEnv: true, env: { ONLY: '1' } });
    expect(clean.stdout.toString()).toBe('ONLY=1\n');
    const missing = await conn.run(['consfig-no-such-command']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr.toString()).toMatch(/not found/);
  });

  it('drains 100 MB on each of stdout and stderr', async () => {
    const result = await conn.run([
      'sh',
      '-c',
      'head -c 100000000 /dev/zero & head -c 100000000 /dev/zero | tr "\\0" e >&2; wait',
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBe(100_000_000);
    expect(result.stderr.length).toBe(100_000_000);
    expect(result.stderr.subarray(0, 3).toString()).toBe('eee');
  }, 120_000);

  it('keeps the head and tail of output beyond a limit, and counts the rest', async () => {
    const result = await conn.run(['sh', '-c', 'printf start; head -c 1000000 /dev/zero; printf end'], {
      outputLimit: 1000,
    });
    expect(result.stdout.length).toBe(1000);
    expect(result.stdout.subarray(0, 5).toString()).toBe('start');
    expect(result.stdout.subarray(-3).toString()).toBe('end');
    expect(result.stdoutOmitted).toBe(1_000_008 - 1000);
    expect(result.stderrOmitted).toBeUndefined();
  });

  it('streams output to a sink as it arrives, pausing for a slow one, bytes unchanged', async () => {
    const received: Buffer[] = [];
    let pauses = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, done) {
        received.push(chunk);
        setImmediate(done);
      },
    });
    slow.on('drain', () => pauses++);
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.alloc(4 << 20, 0x61)]);
    const result = await conn.run(['cat'], { input: bytes, stdout: slow });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBe(0);
    expect(Buffer.compare(Buffer.concat(received), bytes)).toBe(0);
    expect(pauses).toBeGreaterThan(0);
    expect((await conn.run(['echo', 'in sync'])).stdout.toString()).toBe('in sync\n');
  });

  it('runs many requests written at once, answering each in order', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => conn.run(['echo', String(i)])));
    expect(results.map((r) => r.stdout.toString().trim())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });
});

describe('files', () => {
  it('round-trips hostile contents, inline and streamed', async () => {
    const contents = [
      ...HOSTILE_STRINGS.map((s) => Buffer.from(s)),
      ...HOSTILE_BYTES,
      Buffer.from([0, 1, 0, 10, 0]),
      Buffer.alloc(3 << 20, 0xab),
    ];
    for (const [i, data] of contents.entries()) {
      const path = join(dir, `hostile-${i}`);
      await conn.writeFile(path, data);
      expect(Buffer.compare(readFileSync(path), data)).toBe(0);
      expect(Buffer.compare(await conn.readFile(path), data)).toBe(0);
    }
  });

  it('writes hostile file names', async () => {
    for (const name of ["it's", 'a\nb', '$(x)', ' sp ', '-n']) {
      const path = join(dir, name);
      await conn.writeFile(path, name);
      expect(readFileSync(path, 'utf8')).toBe(name);
    }
  });

  it('sets the mode before the rename and leaves no temp file behind', async () => {
    const path = join(dir, 'moded');
    await conn.writeFile(path, 'secret', { mode: '0600' });
    expect(statSync(path).mode & 0o7777).toBe(0o600);
    await conn.writeFile(path, 'public', { mode: 0o4755 });
    expect(statSync(path).mode & 0o7777).toBe(0o4755);
    // no mode given: keeps the old one
    await conn.writeFile(path, 'again');
    expect(statSync(path).mode & 0o7777).toBe(0o4755);
    await conn.writeFile(join(dir, 'fresh'), 'x');
    expect(statSync(join(dir, 'fresh')).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).filter((n) => n.includes('consfig-'))).toEqual([]);
  });

  it("keeps another user's ownership when rewriting a file, whether or not its mode is known", async () => {
    for (const known of [false, true]) {
      const path = join(dir, `owned-${known}`);
      await conn.writeFile(path, 'v1', { mode: '0640', owner: 'nobody', group: 'nogroup' });
      if (known) await conn.probe([{ path }]);
      await conn.writeFile(path, 'v2');
      const st = statSync(path);
      expect([st.uid, st.mode & 0o777, readFileSync(path, 'utf8')]).toEqual([65534, 0o640, 'v2']);
    }
  });

  it('fails cleanly where it cannot write, keeping the agent in sync', async () => {
    await expect(conn.writeFile('/nonexistent-dir/x', 'data')).rejects.toThrow(/cannot write/);
    await expect(conn.writeFile('/nonexistent-dir/x', Buffer.alloc(100_000, 1))).rejects.toThrow(/cannot write/);
    await expect(conn.writeFile(join(dir, 'bad-owner'), 'x', { owner: 'no-such-user-here' })).rejects.toThrow(
      /cannot write/,
    );
    expect(existsSync(join(dir, 'bad-owner'))).toBe(false);
    expect((await conn.run(['echo', 'ok'])).stdout.toString()).toBe('ok\n');
  });

  it('says why a write failed in the words of the system, and leaves no temp file', async () => {
    const small = mkdtempSync(join(tmpdir(), 'consfig-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', small]);
    try {
      for (const data of [Buffer.alloc(60_000, 0x61), Buffer.alloc(200_000, 0x62)]) {
        const error = await conn.writeFile(join(small, 'big'), data).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WriteFailedError);
        expect((error as Error).message).toMatch(/No space left on device/);
        expect(readdirSync(small)).toEqual([]);
      }
      expect((await conn.run(['echo', 'ok'])).stdout.toString()).toBe('ok\n');
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('writes files whose names are NAME_MAX bytes long, with unpredictable temp names', async () => {
    const long = join(dir, 'n'.repeat(255));
    await conn.writeFile(long, 'long');
    await conn.writeFile(long, Buffer.alloc(100_000, 1));
    expect(statSync(long).size).toBe(100_000);
    const unicode = join(dir, 'é'.repeat(127));
    await conn.writeFile(unicode, 'two-byte letters');
    expect(readFileSync(unicode, 'utf8')).toBe('two-byte letters');
    expect(tempPathFor('/etc/motd')).not.toBe(tempPathFor('/etc/motd'));
    expect(tempPathFor('/etc/motd')).toMatch(/^\/etc\/\.motd\.consfig-[0-9a-f]{16}$/);
  });

  it('replaces a symlink at the path, taking nothing from its target', async () => {
    const target = join(dir, 'link-target');
    writeFileSync(target, 'the target\n', { mode: 0o600 });
    chownSync(target, 65534, 65534);
    for (const known of [false, true]) {
      const link = join(dir, `link-${known}`);
      symlinkSync(target, link);
      if (known) await conn.probe([{ path: link }]);
      await conn.writeFile(link, 'new file\n');
      const st = lstatSync(link);
      expect([st.isFile(), st.uid, st.mode & 0o777]).toEqual([true, 0, 0o644]);
      expect(readFileSync(target, 'utf8')).toBe('the target\n');
      expect(statSync(target).uid).toBe(65534);
    }
  });

  it('never renames a streamed file whose input ended early, and removes its temp file', async () => {
    const path = join(dir, 'cut-short');
    writeFileSync(path, 'old content');
    const request = writeRequest('@@N@@', { path, tmp: `${path}.tmp`, data: Buffer.alloc(1_000_000, 0x61) });
    const agent = spawn('sh', ['-c', AGENT_PROGRAM], { stdio: ['pipe', 'ignore', 'ignore'] });
    agent.stdin.write(request.line);
    agent.stdin.end(request.payload!.subarray(0, 300_000));
    await new Promise((resolve) => agent.on('exit', resolve));
    expect(readFileSync(path, 'utf8')).toBe('old content');
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('writes on this machine by itself, unless something asked before is under way', async () => {
    const own = await openConnection([]);
    try {
      for (let i = 0; i < 4; i++) await own.writeFile(join(dir, `itself-${i}`), `i${i}`, { mode: 0o640 });
      expect([0, 1, 2, 3].map((i) => readFileSync(join(dir, `itself-${i}`), 'utf8'))).toEqual(['i0', 'i1', 'i2', 'i3']);
      expect(statSync(join(dir, 'itself-3')).mode & 0o777).toBe(0o640);
      // The agent was never asked for anything: it has not even started.
      expect(own.pid).toBe(0);
      // Asked while a command is running, a write waits for it, as the agent's would.
      const path = join(dir, 'after-the-command');
      await Promise.all([
        own.run(['sh', '-c', 'sleep 0.2; echo command > "$1"', 'sh', path]),
        own.writeFile(path, 'the write'),
      ]);
      expect(readFileSync(path, 'utf8')).toBe('the write');
      expect(readdirSync(dir).filter((n) => n.includes('consfig-'))).toEqual([]);
      // The command started it: a shell of its own session, a child of ours.
      expect(readFileSync(`/proc/${own.pid}/comm`, 'utf8')).toBe('sh\n');
      expect(readFileSync(`/proc/${own.pid}/stat`, 'utf8').split(' ')[3]).toBe(String(process.pid));
    } finally {
      await own.close();
    }
    // Closed, it writes nothing, by itself or otherwise.
    await expect(own.writeFile(join(dir, 'after-close'), 'x')).rejects.toThrow();
    expect(existsSync(join(dir, 'after-close'))).toBe(false);
  });

  it('makes mkdir -p DIR on this machine by itself, as mkdir would, and leaves the rest to mkdir', async () => {
    const base = mkdtempSync(join(tmpdir(), 'consfig-mkdir-'));
    writeFileSync(join(base, 'file'), 'in the way\n');
    const umask = process.umask(0o022);
    const own = await openConnection([]);
    try {
      const made = await own.run(['mkdir', '-p', '--', join(base, 'a/b')], { affects: [join(base, 'a')] });
      expect([made.exitCode, made.stderr.toString()]).toEqual([0, '']);
      expect(await own.run(['mkdir', '-p', join(base, 'a/b')])).toMatchObject({ exitCode: 0 });
      expect([0o755, 0o755]).toEqual(['a', 'a/b'].map((d) => statSync(join(base, d)).mode & 0o7777));
      // No process for it: the agent has not even started.
      expect(own.pid).toBe(0);
      // A file in the way: mkdir says so, as it would have.
      const failed = await own.run(['mkdir', '-p', '--', join(base, 'file/c')], { env: { LC_ALL: 'C' } });
      expect([failed.exitCode, failed.stderr.toString()]).toEqual([
        1,
        `mkdir: cannot create directory '${join(base, 'file')}': Not a directory\n`,
      ]);
      expect(own.pid).not.toBe(0);
    } finally {
      await own.close();
    }
    // Another umask than this process's: mkdir's own, under it.
    const other = await openConnection([]);
    try {
      expect(await other.run(['mkdir', '-p', join(base, 'd/e')], { umask: '0277' })).toMatchObject({ exitCode: 0 });
      expect(other.pid).not.toBe(0);
      expect([0o700, 0o500]).toEqual(['d', 'd/e'].map((d) => statSync(join(base, d)).mode & 0o7777));
    } finally {
      await other.close();
      process.umask(umask);
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('renames through its perl co-process once warm, fails cleanly, and keeps it from commands', async () => {
    // (a local connection writes by itself: the agent's way is asked for)
    const own = await openConnection([], { inProcess: false });
    const renamers = () =>
      execFileSync('sh', ['-c', `pgrep -P ${own.pid} -x perl || true`], { encoding: 'utf8' }).trim();
    for (let i = 0; i < 3; i++) await own.writeFile(join(dir, `warm-${i}`), `w${i}`);
    const perl = renamers();
    expect(perl).toMatch(/^\d+$/);
    mkdirSync(join(dir, 'in-the-way'));
    await expect(own.writeFile(join(dir, 'in-the-way'), 'x')).rejects.toThrow(/cannot write .*in-the-way.*directory/i);
    await own.writeFile(join(dir, 'warm-0'), 'after');
    expect(readFileSync(join(dir, 'warm-0'), 'utf8')).toBe('after');
    expect(readdirSync(dir).filter((n) => n.includes('consfig-'))).toEqual([]);
    const fds = (await own.run(['ls', '/proc/self/fd'])).stdout.toString().split('\n');
    expect(fds.filter((fd) => fd === '5' || fd === '6')).toEqual([]);
    // a renamer killed under it: the agent goes on with mv
    process.kill(Number(perl), 'SIGKILL');
    await own.writeFile(join(dir, 'warm-1'), 'without it');
    expect(readFileSync(join(dir, 'warm-1'), 'utf8')).toBe('without it');
    expect((await own.run(['echo', 'alive'])).stdout.toString()).toBe('alive\n');
    await own.close();
    for (let i = 0; i < 50 && existsSync(`/proc/${perl}`); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(`/proc/${perl}`)).toBe(false);
  });

  it('warms up its renamer for a user other than root too, whatever mode the files have', async () => {
    // (a new file of mode 0644 is written under umask 133, which a user's mktemp -d inherited)
    // The shell's renamer: a front (perl) would rename by itself.
    const own = await openConnection([runuser('nobody')], { front: false });
    const theirs = mkdtempSync(join(tmpdir(), 'consfig-nobody-writes-'));
    chownSync(theirs, 65534, 65534);
    try {
      for (let i = 0; i < 3; i++) await own.writeFile(join(theirs, `w${i}`), `w${i}`, { mode: 0o644 });
      const perl = execFileSync('sh', ['-c', `pgrep -P ${own.pid} -x perl || true`], { encoding: 'utf8' }).trim();
      expect(perl).toMatch(/^\d+$/);
      expect(readdirSync(theirs).map((n) => [n, statSync(join(theirs, n)).mode & 0o777])).toEqual([
        ['w0', 0o644],
        ['w1', 0o644],
        ['w2', 0o644],
      ]);
    } finally {
      await own.close();
      rmSync(theirs, { recursive: true, force: true });
    }
  });

  it('writes with mv where perl is there but cannot run', async () => {
    const fake = mkdtempSync(join(tmpdir(), 'consfig-fake-perl-'));
    writeFileSync(join(fake, 'perl'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${fake}:${path}`;
    try {
      const own = await openConnection([]);
      for (let i = 0; i < 4; i++) await own.writeFile(join(dir, `no-perl-${i}`), `n${i}`);
      expect(readFileSync(join(dir, 'no-perl-3'), 'utf8')).toBe('n3');
      expect((await own.run(['echo', 'alive'])).stdout.toString()).toBe('alive\n');
      await own.close();
    } finally {
      process.env.PATH = path;
    }
  });

  it('reports a missing file', async () => {
    await expect(conn.readFile(join(dir, 'absent'))).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('probes many paths in one round trip', async () => {
    await conn.writeFile(join(dir, 'p1'), 'one');
    await conn.writeFile(join(dir, "p'2\n"), 'two\0bytes');
    symlinkSync('p1', join(dir, 'link'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const found = await conn.probe([
      { path: join(dir, 'p1'), content: true },
      { path: join(dir, "p'2\n"), content: true },
      { path: join(dir, 'link'), content: true },
      { path: join(dir, 'fifo'), content: true },
      { path: join(dir, 'absent'), content: true },
      { path: dir },
    ]);
    expect(found.get(join(dir, 'p1'))).toMatchObject({ exists: true, type: 'file', size: 3, user: 'root' });
    expect(found.get(join(dir, 'p1'))!.content!.toString()).toBe('one');
    expect(found.get(join(dir, "p'2\n"))!.content!.toString()).toBe('two\0bytes');
    expect(found.get(join(dir, 'link'))).toMatchObject({ type: 'symlink', target: 'p1' });
    expect(found.get(join(dir, 'link'))!.content).toBeUndefined();
    expect(found.get(join(dir, 'fifo'))).toMatchObject({ type: 'fifo' });
    expect(found.get(join(dir, 'absent'))).toEqual({ path: join(dir, 'absent'), exists: false });
    expect(found.get(dir)).toMatchObject({ type: 'directory' });
    // Served from the cache now; a command drops it.
    expect((await conn.readFile(join(dir, 'p1'))).toString()).toBe('one');
  });

  it('probes more paths than fit on a request line, with their modes and contents', async () => {
    const many = join(dir, 'many');
    mkdirSync(many);
    const paths = Array.from({ length: 300 }, (_, i) => join(many, `file-with-a-long-name-${i}`));
    paths.forEach((p, i) => writeFileSync(p, `content ${i}`));
    chmodSync(paths[7]!, 0o4755);
    expect(paths.join('').length).toBeGreaterThan(PROBE_INLINE_BYTES);
    const found = await conn.probe(paths.map((path) => ({ path, content: true })));
    expect(paths.map((p) => found.get(p)!.content!.toString())).toEqual(paths.map((_, i) => `content ${i}`));
    expect(found.get(paths[7]!)!.mode).toBe(0o4755);
    expect(found.get(paths[8]!)!.mode).toBe(0o644);
  });
});

describe('probe on this machine', () => {
  it('reads after the commands and writes asked for before it, as the agent would', async () => {
    const path = join(dir, 'ordered');
    const [, , found] = await Promise.all([
      conn.writeFile(path, 'written'),
      conn.run(['sh', '-c', 'sleep 0.2; printf " and appended" >> "$1"', 'sh', path]),
      conn.probe([{ path, content: true }]),
    ]);
    expect(found.get(path)!.content!.toString()).toBe('written and appended');
  });

  it("gives the agent's answers without it: types, modes, ids, names, sizes, targets, contents", async () => {
    const agent = await openConnection([], { inProcess: false });
    const root = join(dir, 'same');
    mkdirSync(root);
    const paths = [root, join(root, 'absent'), join(root, 'absent', 'below'), '/dev/null'];
    const add = (name: string, make: (path: string) => void) => {
      const path = join(root, name);
      make(path);
      paths.push(path);
    };
    add('plain', (p) => writeFileSync(p, 'plain\n'));
    add('empty', (p) => writeFileSync(p, ''));
    add('binary', (p) => writeFileSync(p, Buffer.concat(HOSTILE_BYTES)));
    add("it's a\nname with \\ and $(x)", (p) => writeFileSync(p, 'odd'));
    add('setuid', (p) => {
      writeFileSync(p, '#!/bin/sh\n');
      chmodSync(p, 0o4755);
    });
    add('sticky-dir', (p) => {
      mkdirSync(p);
      chmodSync(p, 0o1777);
    });
    add('nameless-owner', (p) => {
      writeFileSync(p, 'x');
      chownSync(p, 4242, 4243);
    });
    add('nobody', (p) => {
      writeFileSync(p, 'x');
      chownSync(p, 65534, 65534);
    });
    add('link', (p) => symlinkSync('plain', p));
    add('dangling', (p) => symlinkSync('/nonexistent/target', p));
    add('fifo', (p) => execFileSync('mkfifo', [p]));
    for (let i = 0; i < 300; i++) add(`many-${i}`, (p) => writeFileSync(p, `content ${i}`));
    const queries = paths.map((path, i) => ({ path, content: i % 3 !== 2 }));
    const here = await conn.probe(queries);
    const there = await agent.probe(queries);
    await agent.close();
    expect([...here.keys()].sort()).toEqual([...there.keys()].sort());
    for (const path of paths) expect({ path, ...here.get(path) }).toEqual({ path, ...there.get(path) });
    expect(here.get(join(root, 'nameless-owner'))).toMatchObject({ user: '4242', group: '4243' });
    expect(here.get(join(root, 'setuid'))).toMatchObject({ mode: 0o4755, type: 'file' });
    expect(here.get(join(root, 'binary'))!.content).toEqual(Buffer.concat(HOSTILE_BYTES));
  });
});

describe('lock', () => {
  it.each([
    ['this process', true],
    ['the agent', false],
  ])(
    'is held by %s until the connection ends; a second deployment waits, names the holder, then fails',
    async (_, inProcess) => {
      const first = await openConnection([], { inProcess });
      const second = await openConnection([], { inProcess });
      try {
        await first.lock({ holder: 'consfig pid 1 (first)', waitMs: 1000 });
        const waits: string[] = [];
        const started = Date.now();
        const error = await second
          .lock({ holder: 'consfig pid 2 (second)', waitMs: 1000, onWait: (h) => waits.push(h) })
          .catch((e: unknown) => e);
        expect(waits).toEqual(['consfig pid 1 (first)']);
        expect(error).toBeInstanceOf(LockedError);
        expect((error as LockedError).message).toBe(
          'local is being deployed by consfig pid 1 (first); gave up after waiting 1 s',
        );
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
        // The holder's commands do not keep it: a daemon started meanwhile would otherwise.
        expect((await first.run(['sh', '-c', 'ls /proc/self/fd'])).stdout.toString().split('\n')).not.toContain('7');
        // Killed, not closed: the lock goes with the connection. Its holder's line, longer
        // than the new one, is replaced whole.
        await first.abort();
        await second.lock({ holder: 'pid 2', waitMs: 5000 });
        expect(readFileSync(`${process.env.CONSFIG_LOCK_DIR}/consfig.lock`, 'utf8')).toBe('pid 2\n');
      } finally {
        await first.close();
        await second.close();
      }
    },
  );

  it("excludes the agent's lock and this process's alike: one file, one flock", async () => {
    const agent = await openConnection([], { inProcess: false });
    const here = await openConnection([]);
    try {
      await agent.lock({ holder: 'by the agent', waitMs: 1000 });
      await expect(here.lock({ holder: 'here', waitMs: 300 })).rejects.toThrow(/being deployed by by the agent/);
      await agent.close();
      await here.lock({ holder: 'here', waitMs: 1000 });
      const again = await openConnection([], { inProcess: false });
      await expect(again.lock({ holder: 'agent again', waitMs: 300 })).rejects.toThrow(/being deployed by here/);
      await again.close();
    } finally {
      await agent.close();
      await here.close();
    }
  });

  it("reads on this machine only once it holds the lock, so it sees the holder's last write", async () => {
    const first = await openConnection([]);
    const second = await openConnection([]);
    const path = join(dir, 'guarded');
    try {
      await first.lock({ holder: 'consfig pid 1 (first)', waitMs: 10_000 });
      writeFileSync(path, 'before');
      const locked = second.lock({ holder: 'consfig pid 2 (second)', waitMs: 10_000 });
      let read = false;
      const reading = second.probe([{ path, content: true }]).finally(() => (read = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(read).toBe(false);
      writeFileSync(path, 'after'); // the holder's last write
      await first.close();
      await locked;
      expect((await reading).get(path)!.content!.toString()).toBe('after');
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('lives in /run/lock by default, one file per user, and without flock(1) in a directory', async () => {
    const { CONSFIG_LOCK_DIR: _, ...env } = process.env;
    const asNobody = [runuser('nobody')];
    const first = await openConnection(asNobody, { env });
    await first.lock({ holder: 'nobody one', waitMs: 1000 });
    expect(readFileSync('/run/lock/consfig-65534.lock', 'utf8')).toBe('nobody one\n');
    await first.close();
    // No flock on the PATH: a lock directory with the holder's pid, stale once it is gone.
    const bin = mkdtempSync(join(tmpdir(), 'consfig-noflock-'));
    for (const tool of ['sh', 'cat', 'mkdir', 'rm', 'sleep', 'find', 'id', 'stat'])
      symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
    const lockDir = mkdtempSync(join(tmpdir(), 'consfig-noflock-lock-'));
    const noFlock = { ...env, PATH: bin, CONSFIG_LOCK_DIR: lockDir };
    const a = await openConnection([], { env: noFlock });
    const b = await openConnection([], { env: noFlock });
    await a.lock({ holder: 'a', waitMs: 1000 });
    expect(existsSync(join(lockDir, 'consfig.lock.d'))).toBe(true);
    await expect(b.lock({ holder: 'b', waitMs: 1000 })).rejects.toBeInstanceOf(LockedError);
    await a.abort();
    await b.lock({ holder: 'b', waitMs: 3000 });
    await b.close();
    expect(existsSync(join(lockDir, 'consfig.lock.d'))).toBe(false);
  });
});

describe('chain', () => {
  it('fails to connect with the chain and its stderr in the error', async () => {
    const bad = {
      kind: 'bad',
      describe: () => 'bad:hop',
      wrap: () => ['sh', '-c', 'echo "no route to nowhere" >&2; exit 255'],
    };
    const error = await openConnection([bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).message).toMatch(/bad:hop.*no route to nowhere/);
    expect((error as ConnectionError).exitCode).toBe(255);
  });

  it('reports a chain that dies mid-deploy to every pending request', async () => {
    const c = await openConnection([]);
    const pending = c.run(['sh', '-c', 'kill -9 $PPID; sleep 5']);
    await expect(pending).rejects.toBeInstanceOf(ConnectionError);
    await expect(c.run(['true'])).rejects.toBeInstanceOf(ConnectionError);
    await c.close();
  });
});
