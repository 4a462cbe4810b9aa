import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnection } from '../../src/agent/connection.js';
import { FRONT_PERL } from '../../src/agent/front.js';
import type { Connection, FileInfo, Hop, RunOptions, WriteOptions } from '../../src/connection.js';
import { AGENT_PROGRAM } from '../../src/agent/program.js';
import { HOSTILE_STRINGS } from '../support/hostile.js';

const ARCH = ({ x64: 'x86_64', arm64: 'aarch64', ia32: 'i386', arm: 'arm' } as Record<string, string>)[process.arch]!;

/**
 * A hop that does what the container and chroot helpers do at the end of a chain: perl
 * that runs the agent behind the front when it is last (or the agent at once), as `user`.
 */
function perlHop(user?: string): Hop {
  return {
    kind: 'perl',
    describe: () => `perl${user ? `:${user}` : ''}`,
    localRoot: (o) => o,
    front: true,
    wrap: (inner, context) => [
      ...(user ? ['runuser', '-u', user, '--'] : []),
      'perl',
      '-e',
      context.front ? `front('${ARCH}', @ARGV);\n${FRONT_PERL}` : 'exec { $ARGV[0] } @ARGV',
      '--',
      ...inner,
    ],
  };
}

/** A hop of no helper of consfig's: the chain starts the front in front of the agent. */
function plainHop(prefix: string[]): Hop {
  return {
    kind: 'plain',
    describe: () => prefix.join(' '),
    localRoot: (o) => o,
    wrap: (inner) => [...prefix, ...inner],
  };
}

/** A directory of links to `tools` alone, for a PATH. */
function toolsDir(tools: string[]): string {
  const bin = mkdtempSync(join(tmpdir(), 'consfig-front-bin-'));
  chmodSync(bin, 0o755);
  for (const tool of tools) {
    symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
  }
  return bin;
}

let dir: string;
const paths: string[] = [];

function comm(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'consfig-front-'));
  chmodSync(dir, 0o755);
  const file = (name: string, data: string | Buffer, mode = 0o644) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    chmodSync(p, mode);
    paths.push(p);
    return p;
  };
  file('plain', 'some text\n');
  file('empty', '');
  file('setuid', '#!/bin/sh\n', 0o4755);
  file('sticky-odd', 'x', 0o1640);
  file('private', 'secret\n', 0o600);
  file('binary', Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  const stranger = file('stranger', 'owned by no one\n');
  chownSync(stranger, 48_213, 48_214); // no such user or group: find prints the numbers
  const daemon = file('daemon', 'owned by daemon\n');
  chownSync(daemon, 1, 1);
  for (const [i, name] of HOSTILE_STRINGS.entries()) {
    if (name === '' || name.includes('/') || Buffer.byteLength(name) > 200) continue;
    file(`h-${i}-${name}`, `hostile ${i}\n`);
  }
  mkdirSync(join(dir, 'sub'), { mode: 0o2750 });
  paths.push(join(dir, 'sub'));
  symlinkSync('plain', join(dir, 'link'));
  symlinkSync('/nowhere/at/all', join(dir, 'dangling'));
  symlinkSync('sub', join(dir, 'dirlink'));
  paths.push(join(dir, 'link'), join(dir, 'dangling'), join(dir, 'dirlink'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  paths.push(join(dir, 'fifo'), '/dev/null', join(dir, 'missing'), join(dir, 'dirlink', 'through'), join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'through'), 'behind a link\n');
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function probeWith(front: boolean, user?: string): Promise<Map<string, FileInfo>> {
  const conn = await openConnection([perlHop(user)], { front });
  try {
    // Metadata only for every other path; a probe of many paths (sent after the line).
    const few = await conn.probe(paths.map((path, i) => ({ path, content: i % 2 === 0 })));
    const many = Array.from({ length: 150 }, (_, i) => ({ path: `${paths[i % paths.length]}`, content: true }));
    many.push(...Array.from({ length: 100 }, (_, i) => ({ path: join(dir, `absent-${i}`), content: true })));
    const big = await conn.probe(many);
    return new Map([...[...few].map(([p, info]) => [`few ${p}`, info] as const), ...big]);
  } finally {
    await conn.close();
  }
}

const NOBODY = 65_534;

/**
 * Who writes: the shell alone (no front), the front, or the shell after the front (its
 * finisher doing each write's data, owner, mode and rename).
 */
type Writer = 'shell' | 'front' | 'after-front';

/** The command lines of the processes whose parent is `pid`. */
function childrenOf(pid: number): string[] {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return kids === '' ? [] : kids.split(' ').map((k) => readFileSync(`/proc/${k}/cmdline`, 'utf8'));
}

/** The finishers (front.ts) in `pid`'s session (the chain's), by pid. */
function finishersOf(pid: number): number[] {
  const sid = (p: string) => readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[3];
  const own = sid(String(pid));
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && p !== String(pid))
    .flatMap((p) => {
      try {
        const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return sid(p) === own && cmdline.startsWith('perl\0') && cmdline.includes('sub front_finisher')
          ? [Number(p)]
          : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

/** Writes of every kind into a fresh directory; what each left, or its error. */
async function writesWith(writer: Writer, user?: string): Promise<unknown[]> {
  const front = writer !== 'shell';
  const base = mkdtempSync(join(dir, `writes-${writer}-`));
  chmodSync(base, 0o755);
  const at = (name: string) => join(base, name);
  const fixture = (name: string, mode: number, owner = 1) => {
    writeFileSync(at(name), `old ${name}\n`);
    chownSync(at(name), owner, owner);
    chmodSync(at(name), mode);
  };
  fixture('kept', 0o640);
  fixture('probed', 0o604);
  fixture('setuid', 0o4755);
  fixture('mine', 0o600, user ? NOBODY : 0);
  symlinkSync('kept', at('link'));
  symlinkSync('/nowhere/at/all', at('dangling'));
  mkdirSync(at('adir'));
  writeFileSync(join(at('adir'), 'inside'), 'x');
  if (user) chownSync(base, NOBODY, NOBODY);
  const big = Buffer.alloc(200_000, 'a');
  big[70_000] = 0;
  const cases: [string, string | Buffer, WriteOptions][] = [
    ['new', 'hello\n', {}],
    ['kept', 'kept owner and mode\n', {}],
    ['probed', 'probed first: a plan from the cache\n', {}],
    ['setuid', '#!/bin/sh\n', {}],
    ['mine', 'mine\n', {}],
    ['given-0600', 'x', { mode: '0600' }],
    ['given-4750', 'x', { mode: 0o4750 }],
    ['by-name', 'x', { owner: 'daemon', group: 'daemon' }],
    ['by-number', 'x', { owner: '2' }],
    ['group-only', 'x', { group: 'daemon' }],
    ['no-user', 'x', { owner: 'no-such-user-here' }],
    ['no-group', 'x', { owner: 'daemon', group: 'no-such-group-here' }],
    ['link', 'replaces the link\n', {}],
    ['dangling', 'replaces the dangling link\n', {}],
    ['streamed', big, { mode: '0640' }],
    ['hostile', HOSTILE_STRINGS.join('\n'), {}],
    ['missing/file', 'x', {}],
    ['adir', 'x', {}],
    ['empty', '', {}],
  ];
  const out: unknown[] = [];
  let finisher: number[] = [];
  // After the front, the shell has no chown, chmod, mv, stat, head or wc to run (rm only
  // for a temp file it failed to make): only its finisher can have done the writes.
  const env =
    writer === 'after-front'
      ? { ...process.env, PATH: toolsDir(['sh', 'perl', 'runuser', 'flock', 'cat', 'find', 'rm']) }
      : process.env;
  const conn = await openConnection([perlHop(user)], { front, env });
  try {
    await conn.lock({ holder: `writes ${writer}`, waitMs: 5000 });
    await conn.probe([{ path: at('probed'), content: true }]);
    // A read is the shell's: the front hands over to it.
    if (writer === 'after-front') expect((await conn.readFile(at('mine'))).toString()).toBe('old mine\n');
    for (const [name, data, options] of cases) {
      try {
        await conn.writeFile(at(name), data, options);
        const st = lstatSync(at(name));
        const content = readFileSync(at(name));
        out.push({ name, mode: st.mode, uid: st.uid, gid: st.gid, same: content.equals(Buffer.from(data)) });
      } catch (error) {
        const e = error as { code: string; message: string };
        out.push({ name, code: e.code, message: e.message.replaceAll(base, '<dir>').replace(/[0-9a-f]{16}/, 'X') });
      }
    }
    // The front wrote them all (or the shell, after it through the finisher it left, which
    // is the shell's only child: no chown, chmod, mv or renamer), and left no temp file behind.
    expect(comm(conn.pid)).toBe(writer === 'front' ? 'perl' : 'sh');
    if (writer === 'after-front') {
      // the finisher, in the chain's session but no child of the shell's (which would have to reap it)
      finisher = finishersOf(conn.pid);
      expect(finisher).toHaveLength(1);
      expect(childrenOf(conn.pid)).toEqual([]);
    }
    out.push(readdirSync(base).sort());
  } finally {
    await conn.close();
  }
  // and it ends with the agent
  const running = (p: number) => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 50 && finisher.some(running); i++) await new Promise((r) => setTimeout(r, 20));
  expect(finisher.filter(running)).toEqual([]);
  return out;
}

describe('the agent front', () => {
  it("answers probes as the shell does: find's records, names or numbers, contents", async () => {
    const shell = await probeWith(false);
    const front = await probeWith(true);
    expect(front).toEqual(shell);
    // The fixture does have what it means to test.
    const info = (name: string) => front.get(`few ${join(dir, name)}`)!;
    expect(info('stranger')).toMatchObject({ user: '48213', group: '48214' });
    expect(info('daemon')).toMatchObject({ user: 'daemon' });
    expect(info('setuid')).toMatchObject({ mode: 0o4755, content: Buffer.from('#!/bin/sh\n') });
    expect(info('link')).toMatchObject({ type: 'symlink', target: 'plain' });
    expect(info('fifo')).toMatchObject({ type: 'fifo' });
    expect(front.get(`few /dev/null`)).toMatchObject({ type: 'char' });
    expect(info('missing')).toEqual({ path: join(dir, 'missing'), exists: false });
    expect(front.get(join(dir, 'plain'))!.content).toEqual(Buffer.from('some text\n'));
  }, 60_000);

  it('answers as a user whose files it cannot all read', async () => {
    const shell = await probeWith(false, 'nobody');
    const front = await probeWith(true, 'nobody');
    expect(front).toEqual(shell);
    expect(front.get(`few ${join(dir, 'private')}`)).toMatchObject({ exists: true, size: 7 });
    expect(front.get(`few ${join(dir, 'private')}`)!.content).toBeUndefined();
  }, 60_000);

  it('starts no shell for what a no-change deployment asks, and hands the lock over to it', async () => {
    const first = await openConnection([perlHop()]);
    const second = await openConnection([perlHop()], { front: false });
    try {
      // An earlier holder's longer line: replaced whole.
      writeFileSync(join(process.env.CONSFIG_LOCK_DIR!, 'consfig.lock'), 'an earlier and longer holder\n');
      await first.lock({ holder: 'the front', waitMs: 0 });
      await first.probe([{ path: join(dir, 'plain'), content: true }]);
      expect(comm(first.pid)).toBe('perl');
      // A shell agent's lock is the front's: the same file, the same flock.
      await expect(second.lock({ holder: 'the shell', waitMs: 300 })).rejects.toThrow(/deployed by the front/);

      // A command runs from the front too, without the lock's descriptor.
      const ppid = await first.run(['sh', '-c', 'echo $PPID; ls -l /proc/$$/fd/']);
      const [parent, ...fds] = ppid.stdout.toString().trim().split('\n');
      expect(Number(parent)).toBe(first.pid);
      expect(fds.join('\n')).not.toMatch(/consfig.*\.lock/);
      expect(comm(first.pid)).toBe('perl');

      // A read: the shell takes the front's place (the same process), holding the lock.
      expect((await first.readFile(join(dir, 'plain'))).toString()).toBe('some text\n');
      expect(comm(first.pid)).toBe('sh');
      const lockFd = readlinkSync(`/proc/${first.pid}/fd/7`);
      expect(lockFd).toMatch(/consfig\.lock$/);
      expect(readFileSync(lockFd, 'utf8')).toBe('the front\n');
      await expect(second.lock({ holder: 'the shell', waitMs: 0 })).rejects.toThrow(/deployed by the front/);
      const fromShell = await first.run(['sh', '-c', 'echo $PPID; ls -l /proc/$$/fd/']);
      expect(fromShell.stdout.toString()).toMatch(new RegExp(`^${first.pid}\n`));
      expect(fromShell.stdout.toString()).not.toMatch(/consfig.*\.lock/);

      // The shell answers what the front would have, in the same way.
      const again = await first.probe([{ path: join(dir, 'plain'), content: true }]);
      expect(again.get(join(dir, 'plain'))!.content).toEqual(Buffer.from('some text\n'));

      await first.close();
      await second.lock({ holder: 'the shell', waitMs: 2000 });
    } finally {
      await first.close();
      await second.close();
    }
  }, 60_000);

  it('requests sent together around the switch are answered in order', async () => {
    const conn: Connection = await openConnection([perlHop()]);
    try {
      const target = join(dir, 'written');
      const answers = await Promise.all([
        conn.probe([{ path: target, content: true }]),
        conn.writeFile(target, 'one\n'),
        conn.run(['cat', target]),
        conn.probe([{ path: join(dir, 'empty') }]),
        conn.run(['sh', '-c', 'printf two > "$1"', 'sh', target]),
      ]);
      expect(answers[0].get(target)).toEqual({ path: target, exists: false });
      expect((answers[2] as { stdout: Buffer }).stdout.toString()).toBe('one\n');
      expect((await conn.readFile(target)).toString()).toBe('two');
    } finally {
      await conn.close();
    }
  }, 60_000);

  it('runs commands without input as the shell does: umask, directory, PWD, environment, failures', async () => {
    const cases: [string[], RunOptions][] = [
      [['sh', '-c', 'echo "$PWD"; umask; env | LC_ALL=C sort; ls /proc/$$/fd'], {}],
      [
        ['sh', '-c', 'echo "$PWD"; umask; env | LC_ALL=C sort'],
        { cwd: dir, umask: '027', env: { A: 'x y', B: "it's\n$HOME" } },
      ],
      [['sh', '-c', 'echo "$PWD"; env | LC_ALL=C sort'], { cwd: '/', clearEnv: true, env: { ONLY: 'this' } }],
      [['printf', '%s\\0', ...HOSTILE_STRINGS.slice(0, -1)], {}],
      [['sh', '-c', 'echo out; echo err >&2; exit 3'], {}],
      [['sh', '-c', 'kill -TERM $$'], {}],
      [['no-such-command-anywhere'], {}],
      [[join(dir, 'plain')], {}],
      [[dir], {}],
      [['no-such-command-anywhere'], { clearEnv: true }],
      [['true'], { cwd: join(dir, 'missing') }],
      [['sh', '-c', 'echo "$PWD"'], { cwd: join(dir, 'dirlink') }],
      [['sh', '-c', 'head -c 3000000 /dev/zero & head -c 2000000 /dev/zero >&2; wait'], {}],
      // The shell's simple command and its subshell's exec alike: umask and environment for
      // the command only; a name the shell has a builtin of is still the program; a PATH of
      // the command's own is the subshell's.
      [['sh', '-c', 'umask; echo "$A"; ls /proc/$$/fd | grep -x "[567]"'], { umask: '027', env: { A: "x'y" } }],
      [['sh', '-c', 'umask'], {}],
      [['echo', 'a\\tb'], {}],
      [['no-such-command-anywhere'], { env: { PATH: '/nonexistent' } }],
    ];
    // One connection a command: the front runs the first two a connection asks for.
    const answers = async (front: boolean) => {
      const out: unknown[] = [];
      for (const [argv, options] of cases) {
        const conn = await openConnection([perlHop()], { front });
        try {
          await conn.lock({ holder: `commands ${front}`, waitMs: 5000 });
          const r = await conn.run(argv, options);
          out.push({ argv, exitCode: r.exitCode, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString() });
          expect(comm(conn.pid)).toBe(front ? 'perl' : 'sh');
        } finally {
          await conn.close();
        }
      }
      return out;
    };
    const shell = await answers(false);
    const front = await answers(true);
    expect(front).toEqual(shell);
    expect(front[6]).toMatchObject({ exitCode: 127, stderr: 'sh: 1: eval: no-such-command-anywhere: not found\n' });
    expect(front[5]).toMatchObject({ exitCode: 143 });
    expect(front[10]).toMatchObject({ exitCode: 1, stderr: `sh: 1: cd: can't cd to ${join(dir, 'missing')}\n` });
    expect(front.slice(13).map((a) => (a as { stdout: string }).stdout)).toEqual([
      "0027\nx'y\n",
      '0022\n',
      'a\\tb\n',
      '',
    ]);
    expect(front[16]).toMatchObject({ exitCode: 127, stderr: 'sh: 1: exec: no-such-command-anywhere: not found\n' });
  }, 60_000);

  it('makes mkdir -p DIR itself as GNU mkdir does, and leaves to mkdir what it cannot', async () => {
    const made = async (front: boolean, PATH: string): Promise<unknown[]> => {
      const base = mkdtempSync(join(dir, `mkdir-${front}-`));
      chmodSync(base, 0o755);
      writeFileSync(join(base, 'file'), 'in the way\n');
      mkdirSync(join(base, 'there'), { mode: 0o700 });
      symlinkSync('there', join(base, 'linked'));
      const cases: [string[], string][] = [
        [['mkdir', '-p', '--', join(base, 'a/b/c')], '022'],
        [['mkdir', '-p', join(base, 'd/e')], '027'],
        // GNU mkdir makes the parents under the umask less u+wx: f and g 0700, h 0500
        [['mkdir', '-p', join(base, 'f/g/h')], '0277'],
        [['mkdir', '-p', join(base, 'there')], '022'],
        [['mkdir', '-p', join(base, 'linked/i')], '022'],
        [['mkdir', '-p', join(base, 'file/j')], '022'],
        [['mkdir', '-p', join(base, 'file')], '022'],
        [['mkdir', '-p', `${join(base, 'k')}/../l//`], '022'],
        [['mkdir', '-p', '-m', '0700', join(base, 'm')], '022'],
      ];
      const out: unknown[] = [];
      // One connection a case: the front answers every one.
      for (const [argv, umask] of cases) {
        const conn = await openConnection([perlHop()], { front, env: { ...process.env, PATH } });
        try {
          await conn.lock({ holder: `mkdir ${front}`, waitMs: 5000 });
          const r = await conn.run(argv, { umask });
          out.push({ argv: argv.join(' '), exitCode: r.exitCode, stderr: r.stderr.toString() });
          expect(comm(conn.pid)).toBe(front ? 'perl' : 'sh');
        } finally {
          await conn.close();
        }
      }
      const tree = execFileSync('find', [base, '-mindepth', '1', '-printf', '%P %y %m\n'], { encoding: 'utf8' });
      return [...out.map((o) => JSON.stringify(o).replaceAll(base, '<dir>')), ...tree.split('\n').sort()];
    };
    expect(await made(true, process.env.PATH!)).toEqual(await made(false, process.env.PATH!));
    // With no mkdir to run, the front still makes a directory (no process for it); what it
    // cannot make goes to mkdir, which is not there.
    const PATH = toolsDir(['sh', 'perl', 'flock', 'cat', 'find']);
    const conn = await openConnection([perlHop()], { env: { ...process.env, PATH } });
    try {
      const base = mkdtempSync(join(dir, 'mkdir-no-mkdir-'));
      writeFileSync(join(base, 'file'), 'in the way\n');
      expect((await conn.run(['mkdir', '-p', '--', join(base, 'new/dir')])).exitCode).toBe(0);
      expect(statSync(join(base, 'new/dir')).mode & 0o7777).toBe(0o755);
      const r = await conn.run(['mkdir', '-p', '--', join(base, 'file/dir')]);
      expect([r.exitCode, r.stderr.toString()]).toEqual([127, 'sh: 1: eval: mkdir: not found\n']);
    } finally {
      await conn.close();
    }
  }, 60_000);

  it('runs two commands, then leaves the rest to the shell, which forks cheaper', async () => {
    const conn = await openConnection([perlHop()]);
    try {
      const pids: string[] = [];
      for (let i = 0; i < 4; i++) {
        pids.push((await conn.run(['sh', '-c', 'echo $PPID'])).stdout.toString().trim());
        expect(comm(conn.pid)).toBe(i < 2 ? 'perl' : 'sh');
      }
      expect(new Set(pids)).toEqual(new Set([String(conn.pid)]));
    } finally {
      await conn.close();
    }
  }, 60_000);

  it('leaves to the shell a command with input, or in a directory named other than plainly', async () => {
    for (const options of [{ input: 'data' }, { cwd: `${dir}/sub/../sub/` }] as RunOptions[]) {
      const conn = await openConnection([perlHop()]);
      try {
        const r = await conn.run(['sh', '-c', 'cat; echo " $PWD"'], options);
        expect(r.stdout.toString()).toBe(options.input ? `data ${process.cwd()}\n` : ` ${dir}/sub\n`);
        expect(comm(conn.pid)).toBe('sh');
      } finally {
        await conn.close();
      }
    }
  }, 60_000);

  it('writes as the shell does: owner, mode, links, streamed data, failures', async () => {
    const shell = await writesWith('shell');
    const front = await writesWith('front');
    expect(front).toEqual(shell);
    expect(await writesWith('after-front')).toEqual(shell);
    // The fixture does have what it means to test.
    expect(front).toContainEqual({ name: 'kept', mode: 0o100640, uid: 1, gid: 1, same: true });
    expect(front).toContainEqual({ name: 'setuid', mode: 0o104755, uid: 1, gid: 1, same: true });
    expect(front).toContainEqual({ name: 'by-name', mode: 0o100644, uid: 1, gid: 1, same: true });
    expect(front).toContainEqual({ name: 'streamed', mode: 0o100640, uid: 0, gid: 0, same: true });
    expect(front).toContainEqual(expect.objectContaining({ name: 'no-user', code: 'CONSFIG_WRITE_FAILED' }));
    expect(front).toContainEqual(expect.objectContaining({ name: 'missing/file', code: 'CONSFIG_WRITE_FAILED' }));
    expect(front).toContainEqual(expect.objectContaining({ name: 'adir', code: 'CONSFIG_WRITE_FAILED' }));
  }, 60_000);

  it('writes as the shell does as a user who may not give files away', async () => {
    const shell = await writesWith('shell', 'nobody');
    const front = await writesWith('front', 'nobody');
    expect(front).toEqual(shell);
    expect(await writesWith('after-front', 'nobody')).toEqual(shell);
    expect(front).toContainEqual({ name: 'mine', mode: 0o100600, uid: NOBODY, gid: NOBODY, same: true });
    expect(front).toContainEqual(
      expect.objectContaining({ name: 'kept', message: expect.stringMatching(/Operation not permitted/) }),
    );
  }, 60_000);

  it('leaves nothing behind when the controller goes away in the middle of a write', async () => {
    const target = join(dir, 'cut-short');
    const child = spawn('perl', ['-e', `front('${ARCH}', @ARGV);\n${FRONT_PERL}`, '--', 'sh', '-c', AGENT_PROGRAM], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.write('__c_hello n1\n');
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdin.write(`__c_wf n2 077 '${target}' '${target}.tmp' 0644 '-' '' 1000\n`);
    child.stdin.end(Buffer.alloc(400, 'x'));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(out).toMatch(/^pid=\d+ .*\nn1 0\n$/);
    expect(code).toBe(0);
    expect(readdirSync(dir).filter((name) => name.startsWith('cut-short'))).toEqual([]);
  }, 60_000);

  it('leaves nothing behind when the controller goes away mid-write to the shell after the front', async () => {
    const target = join(dir, 'cut-shell');
    const child = spawn('perl', ['-e', `front('${ARCH}', @ARGV);\n${FRONT_PERL}`, '--', 'sh', '-c', AGENT_PROGRAM], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const answered = (nonce: string) =>
      new Promise<void>((resolve) => {
        const look = () => (out.includes(`${nonce} 0\n`) ? resolve() : child.stdout.once('data', look));
        look();
      });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.write('__c_hello n1\n');
    await answered('n1');
    child.stdin.write('__c_sh n2\n');
    await answered('n2');
    // The shell's streamed write, its data read by the finisher: cut short.
    child.stdin.write(`__c_ws n3 '${target}' '${target}.tmp' 0644 '-' '' 100000\n`);
    child.stdin.end(Buffer.alloc(4000, 'x'));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(out).toMatch(/^pid=\d+ .*\nn1 0\nn2 0\nn3 1\n$/);
    expect(err).toBe('n1n2short write: received 4000 of 100000 bytes\nn3');
    expect(code).toBe(0);
    expect(readdirSync(dir).filter((name) => name.startsWith('cut-shell'))).toEqual([]);
  }, 60_000);

  it('starts perl before the agent after a hop with no perl of its own; the shell where there is no perl', async () => {
    const mine = mkdtempSync(join(tmpdir(), 'consfig-front-nobody-'));
    chownSync(mine, NOBODY, NOBODY);
    const noPerl = toolsDir(['sh', 'id', 'cat', 'find', 'flock', 'mkdir', 'rm', 'env', 'head', 'wc', 'mv', 'chmod']);
    try {
      for (const [prefix, agent] of [
        [['runuser', '-u', 'nobody', '--'], 'perl'],
        [['runuser', '-u', 'nobody', '--', 'env', `PATH=${noPerl}`], 'sh'],
      ] as const) {
        const conn = await openConnection([plainHop([...prefix])]);
        try {
          await conn.lock({ holder: `booted ${agent}`, waitMs: 5000 });
          expect(
            (await conn.probe([{ path: join(dir, 'plain'), content: true }])).get(join(dir, 'plain')),
          ).toMatchObject({
            content: Buffer.from('some text\n'),
          });
          await conn.writeFile(join(mine, agent), `by ${agent}\n`, { mode: 0o600 });
          const r = await conn.run(['sh', '-c', 'id -u; cat "$0"', join(mine, agent)], { cwd: mine });
          expect([r.exitCode, r.stdout.toString()]).toEqual([0, `${NOBODY}\nby ${agent}\n`]);
          expect(lstatSync(join(mine, agent))).toMatchObject({ uid: NOBODY, mode: 0o100600 });
          expect(comm(conn.pid)).toBe(agent);
          // What a front does not answer: the shell takes over.
          expect((await conn.readFile(join(mine, agent))).toString()).toBe(`by ${agent}\n`);
          expect(comm(conn.pid)).toBe('sh');
        } finally {
          await conn.close();
        }
      }
    } finally {
      rmSync(mine, { recursive: true, force: true });
      rmSync(noPerl, { recursive: true, force: true });
    }
  }, 60_000);

  it("gives commands the shell's PWD wherever the chain left the agent, whatever PWD it was given", async () => {
    const hops = [
      plainHop(['sh', '-c', 'cd "$0" && exec env -u PWD "$@"', '/usr/share']),
      plainHop(['sh', '-c', 'cd "$0" && exec env PWD=/usr/../usr/share "$@"', '/usr/share']),
      plainHop(['sh', '-c', 'cd "$0" && exec env PWD=/tmp "$@"', '/usr/share']),
      plainHop(['env', '-C', dir, 'PWD=/nowhere', 'OLDPWD=/before']),
    ];
    const answers = async (front: boolean) => {
      const out: string[] = [];
      for (const hop of hops) {
        for (const options of [{}, { cwd: '/usr/lib' }] as RunOptions[]) {
          const conn = await openConnection([hop], { front });
          try {
            out.push((await conn.run(['sh', '-c', 'echo "$PWD"; env | LC_ALL=C sort'], options)).stdout.toString());
            expect(comm(conn.pid)).toBe(front ? 'perl' : 'sh');
          } finally {
            await conn.close();
          }
        }
      }
      return out;
    };
    const shell = await answers(false);
    expect(await answers(true)).toEqual(shell);
    expect(shell.map((out) => out.split('\n')[0])).toEqual([
      '/usr/share',
      '/usr/lib',
      '/usr/../usr/share',
      '/usr/lib',
      '/usr/share',
      '/usr/lib',
      dir,
      '/usr/lib',
    ]);
  }, 60_000);

  it('leaves it to the shell where the target has no flock(1), whose lock differs there', async () => {
    const bin = toolsDir(['sh', 'perl', 'cat', 'find', 'mkdir', 'rm', 'env', 'head', 'wc', 'mv', 'chmod']);
    try {
      const conn = await openConnection([perlHop()], {
        env: { PATH: bin, CONSFIG_LOCK_DIR: process.env.CONSFIG_LOCK_DIR! },
      });
      expect(comm(conn.pid)).toBe('sh');
      await conn.lock({ holder: 'without flock', waitMs: 0 });
      expect((await conn.probe([{ path: join(dir, 'plain') }])).get(join(dir, 'plain'))).toMatchObject({ size: 10 });
      // The client took it for a front: the shell understands the front's words too.
      const r = await conn.run(['sh', '-c', 'echo "$PWD $A"; umask; exit 3'], {
        cwd: dir,
        umask: '027',
        env: { A: 'a b' },
      });
      expect([r.exitCode, r.stdout.toString()]).toEqual([3, `${dir} a b\n0027\n`]);
      const cleared = await conn.run(['/usr/bin/env'], { clearEnv: true, env: { ONLY: 'this' } });
      expect(cleared.stdout.toString()).toBe('ONLY=this\n');
      await conn.writeFile(join(dir, 'by-the-shell'), 'written\n', { mode: 0o640 });
      expect(readFileSync(join(dir, 'by-the-shell'), 'utf8')).toBe('written\n');
      expect(lstatSync(join(dir, 'by-the-shell')).mode & 0o777).toBe(0o640);
      await conn.close();
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 60_000);
});
