// The domain XML and the options' validation: pure logic. The real libvirt, qemu and the
// seed's chain are exercised in packages/cli/test/seed-lab.test.ts.
import { defineHost, deploy } from '@consfig/core';
import { describe, expect, it } from 'vitest';
import { libvirt, os } from '../src/index.js';

type Options = Parameters<typeof libvirt.domainXml>[2];
const options = (o: Partial<Options> = {}): Options => ({
  vcpus: 1,
  memory: 1024,
  kernel: 'vmlinuz',
  initrd: 'initrd.img',
  append: '',
  accel: 'auto',
  rootfs: 'auto',
  network: { type: 'user', restrict: false },
  autostart: false,
  virtOptions: { devices: [], qemuArgs: [] },
  ...o,
});
const guest = { name: 'guest.example' };
const fs = (virtiofsd: string): libvirt.RootChoice => ({ kind: 'virtiofs', virtiofsd, why: 'test' });

describe('libvirt.domainXml', () => {
  it('boots the tree directly: its kernel and initramfs, the tree itself as root over virtiofs', () => {
    const xml = libvirt.domainXml(
      guest,
      '/srv/guest',
      options({ append: 'quiet' }),
      'tcg',
      fs('/usr/lib/qemu/virtiofsd'),
    );
    expect(xml).toMatch(/^<domain type='qemu' /);
    expect(xml).toContain('<kernel>/srv/guest/vmlinuz</kernel>');
    expect(xml).toContain('<initrd>/srv/guest/initrd.img</initrd>');
    expect(xml).toContain('<cmdline>console=ttyS0 root=rootfs rootfstype=virtiofs rw quiet</cmdline>');
    expect(xml).toContain("<source dir='/srv/guest'/>");
    expect(xml).toContain("<binary path='/usr/lib/qemu/virtiofsd'/>");
    // virtiofs needs the guest's memory shared with virtiofsd
    expect(xml).toContain("<access mode='shared'/>");
    expect(xml).toContain(`<source path='${libvirt.serialLog(guest)}'/>`);
    expect(xml).not.toContain('host-passthrough');
  });

  it('boots from the raw ext4 image beside the tree where that is the choice', () => {
    const xml = libvirt.domainXml(guest, '/srv/guest', options(), 'tcg', { kind: 'image', why: 'test' });
    expect(xml).toContain('<cmdline>console=ttyS0 root=/dev/vda rw</cmdline>');
    expect(xml).toContain("<source file='/srv/guest.ext4'/>");
    expect(xml).toContain("<target dev='vda' bus='virtio'/>");
    expect(xml).not.toContain('virtiofs');
    expect(libvirt.imagePath('/srv/guest')).toBe('/srv/guest.ext4');
  });

  it('uses kvm with the host CPU when the probe chose kvm', () => {
    const xml = libvirt.domainXml(guest, '/srv/guest', options(), 'kvm', fs('/usr/lib/qemu/virtiofsd'));
    expect(xml).toMatch(/^<domain type='kvm' /);
    expect(xml).toContain("<cpu mode='host-passthrough'/>");
  });

  it("forwards the guest's ssh from 127.0.0.1 only, and nothing without a port", () => {
    const forwarded = libvirt.domainXml(
      guest,
      '/g',
      options({ network: { type: 'user', sshPort: 2222, restrict: true } }),
      'tcg',
      fs('/v'),
    );
    expect(forwarded).toContain("<qemu:arg value='user,id=consfig0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22'/>");
    expect(forwarded.match(/hostfwd/g)).toHaveLength(1);
    expect(libvirt.domainXml(guest, '/g', options(), 'tcg', fs('/v'))).not.toContain('hostfwd');
    const none = libvirt.domainXml(guest, '/g', options({ network: { type: 'none' } }), 'tcg', fs('/v'));
    expect(none).not.toMatch(/netdev|<interface/);
    const bridged = libvirt.domainXml(
      guest,
      '/g',
      options({ network: { type: 'network', name: 'default' } }),
      'tcg',
      fs('/v'),
    );
    expect(bridged).toContain(
      "<interface type='network'><source network='default'/><model type='virtio'/></interface>",
    );
  });

  it('escapes what it puts into the XML', () => {
    const xml = libvirt.domainXml(guest, "/srv/a'b&c", options({ append: 'x="<y>"' }), 'tcg', fs('/v'));
    expect(xml).toContain("<source dir='/srv/a&apos;b&amp;c'/>");
    expect(xml).toContain('rw x=&quot;&lt;y&gt;&quot;</cmdline>');
  });
});

describe('libvirt options', () => {
  const other = defineHost('vm.example', [os.debianStable('bookworm', 'amd64')]);
  const hypervisor = (prop: Parameters<typeof defineHost>[1][number]) =>
    defineHost('hv.example', [os.debianStable('bookworm', 'amd64'), prop], { via: 'local' });

  it('refuses bad options naming the property and the option, before anything runs', async () => {
    const memory = await deploy(hypervisor(libvirt.kvmBootsChrootFor({ memory: -1 }, other)));
    expect(memory.failures[0]!.error.message).toBe(
      "invalid argument 'options.memory' to libvirt.kvmBootsChrootFor: Number must be greater than 0",
    );
    const network = await deploy(
      hypervisor(libvirt.kvmBootsChrootFor({ network: { type: 'user', sshPort: 70000 } }, other)),
    );
    expect(network.failures[0]!.error.message).toMatch(
      /^invalid argument 'options\.network\.sshPort' to libvirt\.kvmBootsChrootFor: /,
    );
    const root = await deploy(hypervisor(libvirt.definedFor(other, 'relative/path')));
    expect(root.failures[0]!.error.message).toMatch(/^invalid argument 'root' to libvirt\.definedFor: /);
    for (const r of [memory, network, root]) expect(r.changed).toBe(0);
  });
});
