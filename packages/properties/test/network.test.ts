import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, unapply } from '@consfig/core';
import { apt, network } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('network');
beforeAll(async () => {
  await t.twice(apt.installed('ifupdown'));
}, 300_000);

describe('network interfaces', () => {
  it('writes stanzas ifupdown reads, showing them first', async () => {
    const eth = network.staticAddress('eth9', { address: '192.0.2.10/24', gateway: '192.0.2.1', dns: ['192.0.2.53'] });
    const pending = await t.pending(eth);
    expect(pending[0]![0]).toEqual({
      path: '/etc/network/interfaces.d/eth9',
      before: null,
      after:
        'auto eth9\niface eth9 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n' +
        '    dns-nameservers 192.0.2.53\n',
    });
    await t.twice(eth, network.dhcp('eth8'), network.staticAddress('eth7', { address: '2001:db8::7/64' }));
    expect(t.inside('ifquery', 'eth9')).toBe(
      'address: 192.0.2.10\ngateway: 192.0.2.1\ndns-nameservers: 192.0.2.53\n' +
        'broadcast: 192.0.2.255\nnetmask: 255.255.255.0\n',
    );
    expect(t.inside('ifquery', '--list').split('\n')).toEqual(expect.arrayContaining(['eth7', 'eth8', 'eth9']));
    await t.twice(unapply(network.dhcp('eth8')));
    expect(t.inside('ifquery', '--list').split('\n')).not.toContain('eth8');
  });

  it('writes a systemd-networkd .network file', async () => {
    await t.twice(
      network.networkdFile('10-lan', { match: { Name: 'en*' }, address: '198.51.100.4/24', gateway: '198.51.100.1' }),
    );
    expect(readFileSync(`${t.root}/etc/systemd/network/10-lan.network`, 'utf8')).toBe(
      '[Match]\nName=en*\n\n[Network]\nAddress=198.51.100.4/24\nGateway=198.51.100.1\n',
    );
  });
});

describe('hosts and resolv.conf', () => {
  it('maps an address to names getent then resolves, replacing an older line; writes resolv.conf', async () => {
    await t.twice(network.hostsEntry('192.0.2.20', 'db.example', 'db'));
    await t.twice(network.hostsEntry('192.0.2.20', 'db2.example'));
    expect(t.inside('getent', 'hosts', 'db2.example')).toBe('192.0.2.20      db2.example\n');
    expect(t.inside('sh', '-c', 'getent hosts db.example || echo gone')).toBe('gone\n');
    const ours = readFileSync('/etc/resolv.conf', 'utf8');
    // the chroot connection lends this machine's resolv.conf: the tree's own is the one set
    await t.twice(network.resolvConf({ nameservers: ['192.0.2.53'], search: ['example.com'], options: ['edns0'] }));
    expect(readFileSync('/etc/resolv.conf', 'utf8')).toBe(ours);
    expect(readFileSync(`${t.root}/etc/resolv.conf`, 'utf8')).toBe(
      '# Written by consfig\nsearch example.com\nnameserver 192.0.2.53\noptions edns0\n',
    );
  });

  it('refuses bad addresses and names naming the argument', async () => {
    const results = await Promise.all([
      deploy(defineHost('lib.example', [debian, network.staticAddress('eth0', { address: '192.0.2.10' })]), 'local'),
      deploy(defineHost('lib.example', [debian, network.hostsEntry('192.0.2.1', 'not a name')]), 'local'),
      deploy(defineHost('lib.example', [debian, network.resolvConf({ nameservers: [] })]), 'local'),
    ]);
    expect(results.map((r) => r.failures[0]?.error.message)).toEqual([
      "invalid argument 'options.address' to network.staticAddress: must be an address with its prefix, " +
        "such as '192.0.2.10/24' or '2001:db8::10/64'",
      "invalid argument 'names' to network.hostsEntry: must be host names",
      "invalid argument 'options.nameservers' to network.resolvConf: give at least one nameserver",
    ]);
  });
});
