import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineHost, defprop, deploy, hostattr, InvalidArgumentError, unapply, type DeployEvent } from '@consfig/core';
import { z } from 'zod';
import { apt, chroot, file, os } from '../src/index.js';

const BASE = '/var/lib/consfig-test/nested';

const role = hostattr('test.role', z.string());
const declareRole = defprop({
  name: 'test.role',
  desc: 'role',
  args: z.tuple([z.string()]),
  hostattrs: (h, r) => h.push(role, r),
});
/** Writes what the nested host sees of its parent's hostattrs. */
const parentRoleFile = defprop({
  name: 'test.parentRoleFile',
  desc: 'parent role recorded',
  args: z.tuple([z.string()]),
  check: async (ctx, path) => (await ctx.readFileIfExists(path))?.toString() === `${ctx.attrs.parent?.first(role)}\n`,
  apply: async (ctx, path) => ctx.writeFile(path, `${ctx.attrs.parent?.first(role)}\n`),
});

function inChroot(root: string, ...argv: string[]): string {
  return execFileSync('chroot', [root, ...argv], { encoding: 'utf8' });
}

describe('chroot.osBootstrappedFor', () => {
  it('builds from the cache, installs a package inside, sees the parent, then changes nothing', async () => {
    const root = `${BASE}/guest`;
    rmSync(root, { recursive: true, force: true });
    mkdirSync(BASE, { recursive: true });
    const guest = defineHost('guest.example', [
      os.debianStable('bookworm', 'amd64'),
      apt.installed('hello'),
      file.hasContent('/etc/motd', 'inside the guest'),
      parentRoleFile('/etc/parent-role'),
    ]);
    const parent = defineHost('builder.example', [declareRole('vm-host'), chroot.osBootstrappedFor({}, root, guest)]);
    // check mode before the build: the tree would be built, every property of the guest applied
    const events: DeployEvent[] = [];
    const before = await deploy(parent, 'local', { dryRun: true, onEvent: (e) => events.push(e) });
    expect([before.status, before.changed]).toEqual(['ok', 2]);
    const notes = events.flatMap((e) => (e.type === 'property:end' ? e.notes : []));
    expect(notes).toEqual(['not built yet: every property of guest.example would be applied']);
    expect(existsSync(root)).toBe(false);
    events.length = 0;
    const first = await deploy(parent, 'local', { onEvent: (e) => events.push(e) });
    expect(first.failures.map((f) => f.error.message)).toEqual([]);
    expect(first.changed).toBe(2);
    expect(inChroot(root, 'dpkg-query', '-W', '-f', '${Status}', 'hello')).toBe('install ok installed');
    expect(readFileSync(`${root}/etc/motd`, 'utf8')).toBe('inside the guest\n');
    expect(readFileSync(`${root}/etc/parent-role`, 'utf8')).toBe('vm-host\n');
    // the nested host is reported as a host of its own, through the chroot hop
    const nestedStart = events.find((e) => e.type === 'host:start' && e.host === 'guest.example');
    expect(nestedStart && nestedStart.type === 'host:start' && nestedStart.chain).toBe(`chroot:${root}`);
    // no daemon was started and nothing stays mounted
    expect(existsSync(`${root}/usr/sbin/policy-rc.d`)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(root);
    // check mode looks inside the tree, read-only: nothing pending, then exactly what drifted
    const clean = await deploy(parent, 'local', { dryRun: true });
    expect([clean.status, clean.changed, clean.unchanged]).toEqual(['ok', 0, 3]);
    writeFileSync(`${root}/etc/motd`, 'drifted\n');
    const dry: DeployEvent[] = [];
    const drift = await deploy(parent, 'local', { dryRun: true, onEvent: (e) => dry.push(e) });
    expect([drift.status, drift.changed]).toEqual(['ok', 1]);
    const inside = dry.flatMap((e) =>
      e.type === 'property:end' && e.host === 'guest.example' && e.status === 'changed' ? [e] : [],
    );
    expect(inside.map((e) => e.desc)).toEqual(['/etc/motd has content']);
    expect(inside[0]!.changes).toEqual([{ path: '/etc/motd', before: 'drifted\n', after: 'inside the guest\n' }]);
    // shown under the parent's property that deploys it
    const deployedStep = dry.find((e) => e.type === 'property:start' && e.name === 'chroot.deployed');
    const nestedIn = dry.find((e) => e.type === 'host:start' && e.host === 'guest.example');
    expect(nestedIn?.type === 'host:start' && nestedIn.parent).toEqual({
      host: 'builder.example',
      property: deployedStep?.type === 'property:start' ? deployedStep.id : -1,
    });
    expect(readFileSync(`${root}/etc/motd`, 'utf8')).toBe('drifted\n');
    expect((await deploy(parent, 'local')).changed).toBe(1);
    const second = await deploy(parent, 'local');
    expect([second.status, second.changed, second.unchanged]).toEqual(['ok', 0, 3]);
    // unapply removes the tree
    const removed = await deploy(
      defineHost('builder.example', [unapply(chroot.osBootstrappedFor({}, root, guest))]),
      'local',
    );
    expect(removed.failures.map((f) => f.error.message)).toEqual([]);
    expect(removed.changed).toBe(1);
    expect(existsSync(root)).toBe(false);
  }, 600_000);

  it('refuses bad input clearly, before building anything', async () => {
    const guest = defineHost('g.example', [os.debianStable('bookworm')]);
    const unknown = await deploy(
      defineHost('b.example', [chroot.osBootstrappedFor({ suite: 'bookwrom' }, `${BASE}/x`, guest)]),
      'local',
    );
    const error = unknown.failures[0]!.error as InvalidArgumentError;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toMatch(/options\.suite.*unknown Debian suite "bookwrom"/);
    expect(error.host).toBe('b.example');
    expect(existsSync(`${BASE}/x`)).toBe(false);

    const noTool = await deploy(
      defineHost('b.example', [
        chroot.osBootstrappedFor({ bootstrapper: 'pacstrap', suite: 'bookworm' }, `${BASE}/y`, guest),
      ]),
      'local',
    );
    expect(noTool.failures[0]!.error.message).toMatch(/pacstrap is not installed on b\.example/);

    mkdirSync(`${BASE}/outer.consfig-partial`, { recursive: true });
    const inside = await deploy(
      defineHost('b.example', [chroot.osBootstrappedFor({}, `${BASE}/outer/var/lib/lxc/c1`, guest)]),
      'local',
    );
    expect(inside.failures[0]!.error.message).toMatch(
      /is inside .*\/outer, a root filesystem that is still being built/,
    );
    rmSync(`${BASE}/outer.consfig-partial`, { recursive: true });

    const noOs = await deploy(defineHost('b.example', [chroot.osBootstrapped({}, `${BASE}/z`, [])]), 'local');
    expect(noOs.failures[0]!.error.message).toMatch(
      /invalid argument 'options\.suite' to chroot\.osBootstrappedFor: give it, or an os property/,
    );
  });
});
