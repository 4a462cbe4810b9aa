import { describe, expect, it } from 'vitest';
import { defineHost, deploy } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { apt } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('debconf');
const { twice, inside } = t;

describe('apt.reconfigured', () => {
  it("sets a package's debconf answers and reconfigures it, then finds nothing to do", async () => {
    expect(inside('debconf-show', 'debconf')).toMatch(/debconf\/priority: high\n/);
    const props = () => [
      apt.reconfigured(
        'debconf',
        ['debconf/priority', 'select', 'critical'],
        ['debconf/frontend', 'select', 'Readline'],
      ),
    ];
    expect(await t.pending(...props())).toEqual([
      [
        {
          path: '/var/cache/debconf/config.dat',
          before: 'debconf/priority: high',
          after: 'debconf/priority: critical',
          kind: 'metadata',
        },
        {
          path: '/var/cache/debconf/config.dat',
          before: 'debconf/frontend: Dialog',
          after: 'debconf/frontend: Readline',
          kind: 'metadata',
        },
      ],
    ]);
    await twice(...props());
    const shown = inside('debconf-show', 'debconf');
    expect(shown).toMatch(/debconf\/priority: critical\n/);
    expect(shown).toMatch(/debconf\/frontend: Readline\n/);
  }, 120_000);

  it('refuses a package that is not installed, and bad answers, naming them', async () => {
    const missing = await deploy(
      defineHost('lib.example', [debian, apt.reconfigured('hello', ['hello/x', 'string', 'y'])]),
      [chroot(t.root)],
    );
    expect(missing.failures.map((f) => f.error.message)).toEqual([
      'hello is not installed on lib.example (apt.installed first)',
    ]);
    const bad = apt.reconfigured('debconf', ['priority', 'select', 'low'] as never);
    expect(bad.invalid?.message).toBe(
      "invalid argument 'answers.0' to apt.reconfigured: must be a debconf question such as tzdata/Areas",
    );
    const twoLines = apt.reconfigured('debconf', ['debconf/priority', 'select', 'low\nhigh']);
    expect(twoLines.invalid?.message).toMatch(/the value must be one line/);
  });
});
