/** The ssh hop's pure parts: target parsing, the argv it wraps, where shared masters live. */
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSshTarget, ssh } from '../src/index.js';

const saved = { runtime: process.env.XDG_RUNTIME_DIR, persist: process.env.CONSFIG_SSH_PERSIST };
afterEach(() => {
  for (const [key, value] of [['XDG_RUNTIME_DIR', saved.runtime], ['CONSFIG_SSH_PERSIST', saved.persist]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const option = (argv: readonly string[], name: string) => argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);

describe('ssh hop', () => {
  it('parses [user@]host[:port]', () => {
    expect(parseSshTarget('web1')).toEqual({ host: 'web1' });
    expect(parseSshTarget('root@web1:2222')).toEqual({ host: 'web1', user: 'root', port: 2222 });
    expect(parseSshTarget('admin@[::1]:22')).toEqual({ host: '::1', user: 'admin', port: 22 });
    expect(() => parseSshTarget('a b')).toThrow(/is not \[user@\]host\[:port\]/);
  });

  it('uses a private master by default and a shared one with persist', () => {
    delete process.env.CONSFIG_SSH_PERSIST;
    const runtime = mkdtempSync(join(tmpdir(), 'consfig-runtime-'));
    process.env.XDG_RUNTIME_DIR = runtime;
    const own = ssh('root@web1').wrap(['true'], { position: 0 });
    expect(option(own, 'ControlPath')).toMatch(/\/consfig-ssh-[^/]+\/cm$/);
    const kept = ssh({ host: 'web1', persist: 90 }).wrap(['true'], { position: 0 });
    expect(option(kept, 'ControlPath')).toBe(join(runtime, 'consfig-ssh', '%C'));
    expect(option(kept, 'ControlPersist')).toBe('90');
    process.env.CONSFIG_SSH_PERSIST = '30';
    expect(option(ssh('web1').wrap(['true'], { position: 0 }), 'ControlPersist')).toBe('30');
  });

  it('refuses a bad persist and a shared directory others can reach', () => {
    process.env.CONSFIG_SSH_PERSIST = 'soon';
    expect(() => ssh('web1')).toThrow(/CONSFIG_SSH_PERSIST must be a whole number of seconds, not "soon"/);
    delete process.env.CONSFIG_SSH_PERSIST;
    expect(() => ssh({ host: 'web1', persist: 0 })).toThrow(/persist must be a whole number of seconds/);
    const runtime = mkdtempSync(join(tmpdir(), 'consfig-runtime-'));
    mkdirSync(join(runtime, 'consfig-ssh'));
    chmodSync(join(runtime, 'consfig-ssh'), 0o770);
    process.env.XDG_RUNTIME_DIR = runtime;
    expect(() => ssh({ host: 'web1', persist: 60 }).wrap(['true'], { position: 0 })).toThrow(/must belong to this user alone/);
  });
});
