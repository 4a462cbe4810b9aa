import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidHopError, type HopContext } from '@consfig/core/hop';
import { lxc } from '../src/index.js';

const first: HopContext = { position: 0, chain: 'lxc:c1' };

describe('lxc hop: the kept agent (persist)', () => {
  let runtime: string;
  let saved: string | undefined;
  beforeEach(() => {
    runtime = mkdtempSync(join(tmpdir(), 'consfig-lxc-test-'));
    saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtime;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    rmSync(runtime, { recursive: true, force: true });
  });

  it('refuses a persist that is no whole number of seconds, or with lxc-attach, naming the argument', () => {
    for (const persist of [0, -1, 1.5]) {
      expect(() => lxc({ name: 'c1', persist })).toThrow(InvalidHopError);
      expect(() => lxc({ name: 'c1', persist })).toThrow(`persist must be a whole number of seconds, not ${persist}`);
    }
    expect(() => lxc({ name: 'c1', persist: 5, method: 'attach' })).toThrow(
      /persist keeps an agent entered by nsenter/,
    );
  });

  it("keeps it at a socket in the user's own directory, one per container, passed to the helper", () => {
    const socketOf = (o: Parameters<typeof lxc>[0]) => lxc(o).agentSocket!(['sh'], first);
    const a = socketOf({ name: 'c1', owner: 'alice', lxcpath: '/srv/lxc', persist: 60 })!;
    expect(dirname(a)).toBe(join(runtime, 'consfig-lxc'));
    expect(statSync(dirname(a)).mode & 0o777).toBe(0o700);
    expect(a).toMatch(/\/c1-[0-9a-f]{16}\.sock$/);
    // The same container, the same socket; another owner, lxcpath or name, another.
    expect(socketOf({ name: 'c1', owner: 'alice', lxcpath: '/srv/lxc', persist: 5 })).toBe(a);
    const others = [
      socketOf({ name: 'c1', owner: 'bob', lxcpath: '/srv/lxc', persist: 60 }),
      socketOf({ name: 'c1', owner: 'alice', lxcpath: '/srv/lxc2', persist: 60 }),
      socketOf({ name: 'c2', owner: 'alice', lxcpath: '/srv/lxc', persist: 60 }),
    ];
    expect(new Set([a, ...others]).size).toBe(4);
    // The helper is told where to listen and for how long.
    const argv = lxc({ name: 'c1', owner: 'alice', lxcpath: '/srv/lxc', persist: 60 }).fork!(['sh'], first);
    expect(argv.slice(4, 10)).toEqual(['alice', 'c1', '/srv/lxc', a, '60', '1']);
    // Another agent (another version of consfig), another socket: never a server of other code.
    expect(
      lxc({ name: 'c1', owner: 'alice', lxcpath: '/srv/lxc', persist: 60 }).agentSocket!(['sh', '-c', 'x'], first),
    ).not.toBe(a);
  });

  it('keeps none without persist, where the hop is not first, or where the path would not fit a socket address', () => {
    expect(lxc({ name: 'c1' }).agentSocket!(['sh'], first)).toBeUndefined();
    expect(lxc({ name: 'c1' }).fork!(['sh'], first).slice(7, 9)).toEqual(['', '0']);
    const later = { position: 1, chain: 'sudo → lxc:c1' };
    expect(lxc({ name: 'c1', persist: 5 }).agentSocket!(['sh'], later)).toBeUndefined();
    expect(lxc({ name: 'c1', persist: 5 }).wrap(['sh'], later).slice(7, 9)).toEqual(['', '5']);
    const deep = join(runtime, 'd'.repeat(100));
    mkdirSync(deep);
    process.env.XDG_RUNTIME_DIR = deep;
    expect(lxc({ name: 'c1', persist: 5 }).agentSocket!(['sh'], first)).toBeUndefined();
  });

  it("takes the environment's CONSFIG_LXC_PERSIST where the hop says nothing (the text form), and checks it", () => {
    const savedPersist = process.env.CONSFIG_LXC_PERSIST;
    try {
      process.env.CONSFIG_LXC_PERSIST = '90';
      const hop = lxc({ name: 'c1' });
      expect(hop.agentSocket!(['sh'], first)).toMatch(/\/c1-[0-9a-f]{16}\.sock$/);
      expect(hop.fork!(['sh'], first)[8]).toBe('90');
      expect(lxc({ name: 'c1', persist: 7 }).fork!(['sh'], first)[8]).toBe('7');
      // lxc-attach keeps nothing: the environment does not make it fail.
      expect(lxc({ name: 'c1', method: 'attach' }).agentSocket).toBeUndefined();
      process.env.CONSFIG_LXC_PERSIST = 'soon';
      expect(() => lxc({ name: 'c1' }).agentSocket!(['sh'], first)).toThrow(
        'CONSFIG_LXC_PERSIST must be a whole number of seconds, not "soon"',
      );
    } finally {
      if (savedPersist === undefined) delete process.env.CONSFIG_LXC_PERSIST;
      else process.env.CONSFIG_LXC_PERSIST = savedPersist;
    }
  });

  it('says so where it cannot make its directory', () => {
    process.env.XDG_RUNTIME_DIR = join(runtime, 'a-file');
    writeFileSync(join(runtime, 'a-file'), '');
    expect(() => lxc({ name: 'c1', persist: 5 }).agentSocket!(['sh'], first)).toThrow(
      new RegExp(`^lxc: cannot make ${runtime}/a-file/consfig-lxc to hold kept agents: ENOTDIR`),
    );
  });

  it('refuses a directory others may enter', () => {
    mkdirSync(join(runtime, 'consfig-lxc'), { mode: 0o755 });
    chmodSync(join(runtime, 'consfig-lxc'), 0o755);
    expect(() => lxc({ name: 'c1', persist: 5 }).agentSocket!(['sh'], first)).toThrow(/must belong to this user alone/);
  });
});
