import { readFileSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { childHost, defineHost, deploy } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { timezone } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('timezone');

describe('timezone', () => {
  it('links /etc/localtime and names the zone, showing both changes first', async () => {
    const before = readFileSync(`${t.root}/etc/timezone`, 'utf8');
    const pending = await t.pending(timezone.configured('Europe/Berlin'));
    expect(pending[0]!.map((c) => [c.path, c.after])).toEqual([
      ['/etc/localtime', 'symlink to /usr/share/zoneinfo/Europe/Berlin'],
      ['/etc/timezone', 'Europe/Berlin\n'],
    ]);
    expect(pending[0]![1]!.before).toBe(before);
    await t.twice(timezone.configured('Europe/Berlin'));
    expect(readlinkSync(`${t.root}/etc/localtime`)).toBe('/usr/share/zoneinfo/Europe/Berlin');
    expect(t.inside('date', '-d', '@0', '+%H:%M %Z')).toBe('01:00 CET\n');
  });

  it("gives a nested host its parent's zone, and refuses a host without one or a zone that is not there", async () => {
    const parent = defineHost('parent.example', [timezone.configured('America/New_York')]);
    const child = childHost(parent, 'lib.example', [debian, timezone.configuredFromParent()]);
    const first = await deploy(child, [chroot(t.root)]);
    expect([first.failures.length, first.changed]).toEqual([0, 1]);
    expect(readFileSync(`${t.root}/etc/timezone`, 'utf8')).toBe('America/New_York\n');
    expect((await deploy(child, [chroot(t.root)])).changed).toBe(0);

    const orphan = await deploy(defineHost('lib.example', [debian, timezone.configuredFromParent()]), [chroot(t.root)]);
    expect(orphan.failures[0]?.error.message).toMatch(/lib\.example is not a nested host/);
    const noZone = await deploy(defineHost('lib.example', [debian, timezone.configured('Mars/Olympus')]), [
      chroot(t.root),
    ]);
    expect(noZone.failures[0]?.error.message).toBe(
      'there is no zone Mars/Olympus on lib.example (/usr/share/zoneinfo/Mars/Olympus; is tzdata installed?)',
    );
    const bad = await deploy(defineHost('lib.example', [debian, timezone.configured('../etc/passwd')]), 'local');
    expect(bad.failures[0]?.error.message).toMatch(/^invalid argument 'zone' to timezone\.configured: must be a zone/);
  });
});
