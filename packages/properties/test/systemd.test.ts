import { describe, expect, it } from 'vitest';
import { defineHost, deploy, unapply } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { apt, systemd, user } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('systemd');
const { twice, inside } = t;

describe('systemd', () => {
  it('lingering and unit enablement, offline', async () => {
    await twice(user.hasAccount('alice'), systemd.lingeringEnabled('alice'));
    expect(inside('ls', '/var/lib/systemd/linger')).toBe('alice\n');
    await twice(apt.installed('systemd'), systemd.enabled('systemd-networkd.service'));
    expect(inside('systemctl', 'is-enabled', 'systemd-networkd.service')).toBe('enabled\n');
    await twice(systemd.enabled('systemd-tmpfiles-clean.timer', { userInstance: 'alice' }));
    expect(
      inside('runuser', '-u', 'alice', '--', 'systemctl', '--user', 'is-enabled', 'systemd-tmpfiles-clean.timer'),
    ).toBe('enabled\n');
    await twice(systemd.masked('systemd-networkd.service'));
    expect(inside('sh', '-c', 'systemctl is-enabled systemd-networkd.service || true')).toBe('masked\n');
    const unmasked = await deploy(
      defineHost('lib.example', [debian, unapply(systemd.masked('systemd-networkd.service'))]),
      [chroot(t.root)],
    );
    expect([unmasked.failures.length, unmasked.changed]).toEqual([0, 1]);
    expect(inside('systemctl', 'is-enabled', 'systemd-networkd.service')).toBe('enabled\n');
  }, 300_000);
});
