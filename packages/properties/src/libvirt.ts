/**
 * libvirt: virtual machines through libvirt's qemu driver, and the seed's
 * `kvmBootsChrootFor`: a host's root filesystem built as a tree on this host (a nested
 * deployment) and booted as a VM by direct kernel boot, with the tree itself as the
 * guest's root over virtiofs, as Consfigurator does. No bootloader and no disk image: a
 * deploy of this host changes the guest's files where they are.
 *
 * Every step is a small checked property, so `consfig check` says which would run: the
 * tree (its host's own checks inside it), the domain's definition (the XML consfig would
 * give it, by its hash), the domain running.
 */
import { posix } from 'node:path';
import {
  defprop,
  desc,
  eseq,
  Host,
  invalidApplication,
  sha256Hex,
  tempPathFor,
  withFlagfile,
  type Propapp,
  type PropertyContext,
  withParams,
  type Arg,
} from '@consfig/core/property';
import { z } from 'zod';
import { installed as aptInstalled } from './apt.js';
import { hostSchema, osBootstrappedFor, type ChrootOptions } from './chroot.js';
import { containsLines, hasContent, symlinked } from './file.js';
import { noServices } from './service.js';

const VIRSH = ['virsh', '-c', 'qemu:///system'];
const domainName = (host: { name: string }) => host.name;

/** libvirt's daemon and clients, and qemu (whose bookworm package carries virtiofsd). */
export function installed(): Propapp {
  return desc('libvirt installed', aptInstalled('libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86'));
}

async function virsh(ctx: PropertyContext, args: string[], options: { readOnly?: boolean } = {}) {
  // A call that may change a domain makes what was learnt of domains stale.
  if (!options.readOnly) for (const arg of args) ctx.forget(factsKey(arg));
  return ctx.run([...VIRSH, ...args], { allowFailure: true, ...(options.readOnly ? { readOnly: true } : {}) });
}

/** What libvirt says of a domain: undefined state and XML when there is no such domain. */
interface DomainFacts {
  state?: string;
  xml?: string;
}

const factsKey = (name: string) => `libvirt.domain:${name}`;

/**
 * A domain's state and XML in one virsh call (each costs ~40 ms of connecting), kept
 * for the checks that follow until a virsh call may have changed them.
 */
function domainFacts(ctx: PropertyContext, name: string): Promise<DomainFacts> {
  return ctx.memo(factsKey(name), async () => {
    // virsh's own command line: quoted for its parser (names are host names).
    const quoted = `'${name.replace(/'/g, '')}'`;
    // --inactive: the definition (what the next start boots), not a running domain's live XML.
    const r = await virsh(ctx, [`domstate ${quoted}; dumpxml --inactive ${quoted}`], { readOnly: true });
    if (/failed to get domain/i.test(r.stderr)) return {};
    if (r.exitCode !== 0) ctx.fail(`virsh could not tell about domain ${name}: ${r.stderr.trim()}`);
    const at = r.stdout.indexOf('<domain');
    return { state: r.stdout.slice(0, at < 0 ? undefined : at).trim(), ...(at < 0 ? {} : { xml: r.stdout.slice(at) }) };
  });
}

async function domainState(ctx: PropertyContext, name: string): Promise<string | undefined> {
  return (await domainFacts(ctx, name)).state;
}

/** libvirt's default network (NAT on virbr0) is active. */
export const defaultNetworkStarted = defprop({
  name: 'libvirt.defaultNetworkStarted',
  desc: "libvirt's default network started",
  check: async (ctx) =>
    noServices(ctx) || /^Active:\s+yes$/m.test((await virsh(ctx, ['net-info', 'default'], { readOnly: true })).stdout),
  apply: async (ctx) => {
    const r = await virsh(ctx, ['net-start', 'default']);
    if (r.exitCode !== 0) ctx.fail(`virsh net-start default failed: ${r.stderr.trim()}`);
  },
});

const networkSchema = z.union([
  z
    .object({
      /** qemu's own user networking: NAT, no bridge; ssh forwarded from 127.0.0.1:sshPort. */
      type: z.literal('user'),
      sshPort: z.number().int().min(1).max(65535).optional(),
      /** No way out for the guest (forwarded ports still reach it). */
      restrict: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      type: z.literal('network'),
      name: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/)
        .default('default'),
    })
    .strict(),
  z.object({ type: z.literal('none') }).strict(),
]);

const domainOptions = z
  .object({
    vcpus: z.number().int().positive().default(1),
    /** MiB. */
    memory: z.number().int().positive().default(1024),
    /** Paths relative to the root filesystem. */
    kernel: z.string().min(1).default('vmlinuz'),
    initrd: z.string().min(1).default('initrd.img'),
    append: z.string().default(''),
    accel: z.enum(['kvm', 'tcg', 'auto']).default('auto'),
    /**
     * How the guest gets the tree as its root: over virtiofs (the tree itself, live), or a
     * raw ext4 image made from it (`mkfs.ext4 -d`, no loop mounts) where virtiofs cannot
     * work; auto: virtiofs where there is a virtiofsd, else the image.
     */
    rootfs: z.enum(['virtiofs', 'image', 'auto']).default('auto'),
    network: networkSchema.default({ type: 'user', restrict: false }),
    autostart: z.boolean().default(false),
    /** More for the domain: device XML, and qemu arguments. */
    virtOptions: z
      .object({ devices: z.array(z.string()).default([]), qemuArgs: z.array(z.string()).default([]) })
      .strict()
      .default({}),
  })
  .strict();
type DomainOptions = z.output<typeof domainOptions>;

export const IMAGES = '/var/lib/libvirt/images';
const VIRTIOFSD = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd', '/usr/lib/virtiofsd'];

function xmlText(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Where the serial console is logged: what a boot marker is looked for in. */
export function serialLog(host: { name: string }): string {
  return `/var/log/libvirt/qemu/${domainName(host)}-serial.log`;
}

/** How the guest's root is given: the tree over virtiofs (with the daemon), or an image of it. */
export type RootChoice = { kind: 'virtiofs'; virtiofsd: string; why: string } | { kind: 'image'; why: string };

/** The raw ext4 image made from the tree at `root`, beside it. */
export const imagePath = (root: string) => `${root}.ext4`;

/** The domain's XML: direct kernel boot with the tree at `root` as the guest's root. */
export function domainXml(
  host: { name: string },
  root: string,
  o: DomainOptions,
  accel: 'kvm' | 'tcg',
  rootfs: RootChoice,
): string {
  const net = o.network;
  const qemuArgs = [...o.virtOptions.qemuArgs];
  const devices = [...o.virtOptions.devices];
  if (net.type === 'user') {
    const forward = net.sshPort ? `,hostfwd=tcp:127.0.0.1:${net.sshPort}-:22` : '';
    qemuArgs.push(
      '-netdev',
      `user,id=consfig0${net.restrict ? ',restrict=on' : ''}${forward}`,
      '-device',
      'virtio-net-pci,netdev=consfig0,bus=pci.0,addr=0x10',
    );
  } else if (net.type === 'network') {
    devices.push(
      `<interface type='network'><source network='${xmlText(net.name)}'/><model type='virtio'/></interface>`,
    );
  }
  const rootArgs = rootfs.kind === 'virtiofs' ? ['root=rootfs', 'rootfstype=virtiofs'] : ['root=/dev/vda'];
  const cmdline = ['console=ttyS0', ...rootArgs, 'rw', o.append].filter(Boolean).join(' ');
  const rootDevice =
    rootfs.kind === 'virtiofs'
      ? [
          "    <filesystem type='mount' accessmode='passthrough'>",
          "      <driver type='virtiofs'/>",
          `      <binary path='${xmlText(rootfs.virtiofsd)}'/>`,
          `      <source dir='${xmlText(root)}'/>`,
          "      <target dir='rootfs'/>",
          '    </filesystem>',
        ]
      : [
          "    <disk type='file' device='disk'>",
          "      <driver name='qemu' type='raw'/>",
          `      <source file='${xmlText(imagePath(root))}'/>`,
          "      <target dev='vda' bus='virtio'/>",
          '    </disk>',
        ];
  return [
    `<domain type='${accel === 'kvm' ? 'kvm' : 'qemu'}' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>`,
    `  <name>${xmlText(domainName(host))}</name>`,
    `  <memory unit='MiB'>${o.memory}</memory>`,
    `  <vcpu>${o.vcpus}</vcpu>`,
    "  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>",
    '  <os>',
    "    <type arch='x86_64' machine='pc'>hvm</type>",
    `    <kernel>${xmlText(posix.join(root, o.kernel))}</kernel>`,
    `    <initrd>${xmlText(posix.join(root, o.initrd))}</initrd>`,
    `    <cmdline>${xmlText(cmdline)}</cmdline>`,
    '  </os>',
    ...(accel === 'kvm' ? ["  <cpu mode='host-passthrough'/>"] : []),
    '  <devices>',
    ...rootDevice,
    `    <serial type='file'><source path='${xmlText(serialLog(host))}'/><target port='0'/></serial>`,
    "    <console type='pty'><target type='serial' port='0'/></console>",
    ...devices.map((d) => `    ${d}`),
    '  </devices>',
    ...(qemuArgs.length > 0
      ? [
          '  <qemu:commandline>',
          ...qemuArgs.map((a) => `    <qemu:arg value='${xmlText(a)}'/>`),
          '  </qemu:commandline>',
        ]
      : []),
    '</domain>',
    '',
  ].join('\n');
}

/**
 * kvm when /dev/kvm can boot a stock kernel, else tcg (software emulation): a PVM
 * /dev/kvm (kvm_pvm) runs only PVM-enabled guest kernels, and a CPU without vmx or svm
 * none. Decided on the hypervisor, with the reason.
 */
async function chooseAccel(
  ctx: PropertyContext,
  asked: DomainOptions['accel'],
): Promise<{ accel: 'kvm' | 'tcg'; why: string }> {
  if (asked !== 'auto') return { accel: asked, why: 'as asked' };
  const r = await ctx.run(
    [
      'sh',
      '-c',
      `[ -c /dev/kvm ] || { echo "/dev/kvm is missing"; exit 1; }
[ -d /sys/module/kvm_pvm ] && { echo "/dev/kvm is kvm_pvm, which boots no stock kernel"; exit 1; }
grep -qwE 'vmx|svm' /proc/cpuinfo || { echo "the CPU offers no vmx or svm"; exit 1; }
echo "/dev/kvm can boot it"`,
    ],
    { readOnly: true, allowFailure: true },
  );
  return { accel: r.exitCode === 0 ? 'kvm' : 'tcg', why: r.stdout.trim() };
}

/** virtiofs where asked or where there is a virtiofsd (auto), else the image. */
async function chooseRoot(ctx: PropertyContext, asked: DomainOptions['rootfs']): Promise<RootChoice> {
  if (asked === 'image') return { kind: 'image', why: 'as asked' };
  const found = await ctx.probe(VIRTIOFSD.map((path) => ({ path })));
  const virtiofsd = VIRTIOFSD.find((p) => found.get(p)?.exists);
  if (virtiofsd) return { kind: 'virtiofs', virtiofsd, why: asked === 'auto' ? `${virtiofsd} is there` : 'as asked' };
  if (asked === 'auto') return { kind: 'image', why: `no virtiofsd (looked for ${VIRTIOFSD.join(', ')})` };
  return ctx.fail(
    `no virtiofsd on ${ctx.hostname} (looked for ${VIRTIOFSD.join(', ')}): ` +
      "install qemu-system-x86 (bookworm) or virtiofsd (newer), or boot from an image (rootfs: 'image')",
  );
}

function hashOf(xml: string): string {
  return sha256Hex(xml).slice(0, 16);
}

interface DomainPlan {
  xml: string;
  hash: string;
  accel: { accel: 'kvm' | 'tcg'; why: string };
  rootfs: RootChoice;
}

async function plan(ctx: PropertyContext, host: Host, root: string, o: DomainOptions): Promise<DomainPlan> {
  const accel = await ctx.memo(`libvirt.accel:${o.accel}`, () => chooseAccel(ctx, o.accel));
  const rootfs = await ctx.memo(`libvirt.rootfs:${o.rootfs}`, () => chooseRoot(ctx, o.rootfs));
  const xml = domainXml(host, root, o, accel.accel, rootfs);
  // The hash goes into the domain's description, where a check finds it.
  return { xml, hash: hashOf(xml), accel, rootfs };
}

const definedArgs = z.tuple([hostSchema, z.string().startsWith('/'), domainOptions]);

async function defineDomain(ctx: PropertyContext, host: Host, root: string, o: DomainOptions): Promise<void> {
  const p = await plan(ctx, host, root, o);
  for (const k of [o.kernel, o.initrd]) {
    if (!(await ctx.stat(posix.join(root, k))).exists) {
      ctx.fail(
        `${posix.join(root, k)} is missing: ${host.name}'s tree has no kernel to boot ` +
          '(or give options.kernel / options.initrd)',
      );
    }
  }
  // Defining a domain again takes its uuid: without it libvirt sees another domain of that name.
  const uuid = /<uuid>([0-9a-f-]{36})<\/uuid>/.exec((await definedXml(ctx, host)) ?? '')?.[1];
  const xml = p.xml.replace(
    '  <memory ',
    `${uuid ? `  <uuid>${uuid}</uuid>\n` : ''}  <description>consfig ${p.hash}</description>\n  <memory `,
  );
  const file = tempPathFor(`/run/consfig-libvirt-${domainName(host)}.xml`);
  await ctx.writeFile(file, xml, { mode: 0o600 });
  ctx.forget(factsKey(domainName(host)));
  const r = await virsh(ctx, ['define', file]);
  await ctx.run(['rm', '-f', '--', file], { affects: [file] });
  if (r.exitCode !== 0) ctx.fail(`virsh define failed: ${r.stderr.trim()}`);
  const auto = await virsh(ctx, ['autostart', ...(o.autostart ? [] : ['--disable']), domainName(host)]);
  if (auto.exitCode !== 0) ctx.fail(`virsh autostart failed: ${auto.stderr.trim()}`);
}

/** Say (in the step's output) which accelerator the probe chose, and why. */
function noteHowItBoots(ctx: PropertyContext, p: DomainPlan): void {
  const how = p.rootfs.kind === 'virtiofs' ? 'root over virtiofs' : 'root from a raw ext4 image made from the tree';
  ctx.note(`accel ${p.accel.accel}: ${p.accel.why}; ${how} (${p.rootfs.why})`);
}

/** The domain's XML as libvirt has it, undefined when there is no such domain. */
async function definedXml(ctx: PropertyContext, host: Host): Promise<string | undefined> {
  return (await domainFacts(ctx, domainName(host))).xml;
}

/** The domain exists (defined with consfig's XML when it did not); unapplied, it is undefined. */
const domainDefined = defprop({
  name: 'libvirt.domainDefined',
  desc: (host) => `domain ${domainName(host)} defined`,
  args: definedArgs,
  argNames: ['host', 'root', 'options'],
  check: async (ctx, host, root, o) => {
    noteHowItBoots(ctx, await plan(ctx, host, root, o));
    if ((await definedXml(ctx, host)) !== undefined) return true;
    return {
      applied: false,
      changes: [{ path: `domain ${domainName(host)}`, before: 'not defined', after: 'defined', kind: 'metadata' }],
    };
  },
  apply: (ctx, host, root, o) => defineDomain(ctx, host, root, o),
  unapply: async (ctx, host) => {
    await virsh(ctx, ['destroy', domainName(host)]);
    const r = await virsh(ctx, ['undefine', domainName(host)]);
    if (r.exitCode !== 0 && !/failed to get domain/i.test(r.stderr))
      ctx.fail(`virsh undefine failed: ${r.stderr.trim()}`);
  },
});

/**
 * The domain defined with the XML consfig makes for it now (its hash in the domain's
 * description): defined otherwise, it is defined again, taking effect at its next start.
 */
const domainCurrent = defprop({
  name: 'libvirt.domainCurrent',
  desc: (host) => `domain ${domainName(host)} as configured`,
  args: definedArgs,
  argNames: ['host', 'root', 'options'],
  check: async (ctx, host, root, o) => {
    const p = await plan(ctx, host, root, o);
    const xml = await definedXml(ctx, host);
    const had = xml && /<description>consfig ([0-9a-f]{16})<\/description>/.exec(xml)?.[1];
    if (had === p.hash) return true;
    // (a domain not defined yet has it said by the definition's step)
    if (xml !== undefined) noteHowItBoots(ctx, p);
    const before = xml === undefined ? 'not defined' : `defined (${had ?? 'otherwise'})`;
    return {
      applied: false,
      changes: [{ path: `domain ${domainName(host)}`, before, after: `defined (${p.hash})`, kind: 'metadata' }],
    };
  },
  apply: (ctx, host, root, o) => defineDomain(ctx, host, root, o),
  // Undefining is the definition's (domainDefined) to do.
  unapply: 'nothing',
});

/**
 * The domain for `host` defined with the XML consfig makes for it (booting `root`); a
 * domain defined otherwise is defined again (it takes effect at its next start).
 * Unapplied: undefined.
 */
export function definedFor(host: Host, root: string, options: z.input<typeof domainOptions> = {}): Propapp {
  const parsed = definedArgs.safeParse([host, root, options]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [index, ...rest] = issue.path;
    return invalidApplication(
      'libvirt.definedFor',
      [['host', 'root', 'options'][Number(index)] ?? 'arguments', ...rest].join('.'),
      issue.message,
    );
  }
  return eseq(domainDefined(host, root, options), domainCurrent(host, root, options));
}

/** Start the domain; fail with qemu's words when it does not run a moment later. */
async function start(ctx: PropertyContext, host: { name: string }, undefineIfItFails: boolean): Promise<void> {
  const name = domainName(host);
  await ctx.run(['sh', '-c', ': > "$1"', 'sh', serialLog(host)], { affects: [serialLog(host)] });
  const r = await virsh(ctx, ['start', name]);
  // qemu may die at once (memory it cannot have): virsh start does not always say.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const state = await domainState(ctx, name);
  if (r.exitCode === 0 && state === 'running') return;
  const log = await ctx.run(['tail', '-n', '3', `/var/log/libvirt/qemu/${name}.log`], {
    readOnly: true,
    allowFailure: true,
  });
  if (undefineIfItFails) {
    await virsh(ctx, ['destroy', name]);
    await virsh(ctx, ['undefine', name]);
  }
  const why = r.stderr.trim() || log.stdout.trim() || `it is ${state ?? 'gone'}`;
  ctx.fail(`domain ${name} did not start${undefineIfItFails ? ' (and is undefined again)' : ''}: ${why}`);
}

/** A property for a domain running; `undefineIfItFails`: a domain that cannot start is not left defined. */
function runningProperty(name: string, undefineIfItFails: boolean) {
  return defprop({
    name,
    desc: (host) => `domain ${domainName(host)} running`,
    args: z.tuple([hostSchema]),
    argNames: ['host'],
    check: async (ctx, host) => noServices(ctx) || (await domainState(ctx, domainName(host))) === 'running',
    apply: (ctx, host) => start(ctx, host, undefineIfItFails),
    unapply: async (ctx, host) => {
      const r = await virsh(ctx, ['destroy', domainName(host)]);
      if (r.exitCode !== 0 && !/not running|failed to get domain/i.test(r.stderr))
        ctx.fail(`virsh destroy failed: ${r.stderr.trim()}`);
    },
  });
}

/** The host's domain runs (started now if it did not; a domain that dies at once fails, with qemu's words). */
export const started = withParams<[host: Arg]>()(runningProperty('libvirt.started', false));

/** The host's domain does not run (destroyed: a minimal guest ignores ACPI shutdown). */
export const destroyed = withParams<[host: Arg]>()(
  defprop({
    name: 'libvirt.destroyed',
    desc: (host) => `domain ${domainName(host)} not running`,
    args: z.tuple([hostSchema]),
    argNames: ['host'],
    check: async (ctx, host) => (await domainState(ctx, domainName(host))) !== 'running',
    apply: async (ctx, host) => {
      const r = await virsh(ctx, ['destroy', domainName(host)]);
      if (r.exitCode !== 0) ctx.fail(`virsh destroy failed: ${r.stderr.trim()}`);
    },
  }),
);

/** Apply `props` (on this host) only while `host`'s domain runs. */
export function whenStarted(host: Host, ...props: Propapp[]): Propapp {
  const inner = eseq(...props);
  const gate = defprop({
    name: 'libvirt.whenStarted',
    desc: `when ${domainName(host)} runs`,
    appliesOthers: true,
    apply: async (ctx) => {
      if ((await domainState(ctx, domainName(host))) === 'running') return (await ctx.apply(inner)).result;
      ctx.passOver(inner);
      return 'unchanged';
    },
  });
  return gate();
}

const bootsOptions = domainOptions.extend({
  /** Every deploy deploys the tree again (else it is built and configured once). */
  alwaysDeploys: z.boolean().default(false),
  /** Where the tree is (default /var/lib/libvirt/images/NAME). */
  root: z.string().startsWith('/').optional(),
  chrootOptions: z.record(z.string(), z.unknown()).default({}),
});
export type KvmBootsChrootOptions = z.input<typeof bootsOptions>;

/**
 * What a tree needs to boot as this module's guest: a kernel and an initramfs that
 * mounts virtiofs as root, systemd, its root in fstab, and (with qemu's user network)
 * the address qemu's NAT expects.
 */
function bootableProps(o: z.output<typeof bootsOptions>): Propapp[] {
  const userNet = o.network.type === 'user';
  return [
    aptInstalled('linux-image-amd64', 'initramfs-tools', 'systemd-sysv', 'udev'),
    desc(
      'virtiofs in the initramfs',
      eseq(containsLines('/etc/initramfs-tools/modules', 'virtiofs'), cmdUpdateInitramfs()),
    ),
    hasContent('/etc/fstab', 'rootfs / virtiofs rw 0 0'),
    hasContent(
      '/etc/systemd/network/50-consfig.network',
      userNet
        ? ['[Match]', 'Name=en*', '', '[Network]', 'Address=10.0.2.15/24', 'Gateway=10.0.2.2', 'DNS=10.0.2.3']
        : ['[Match]', 'Name=en*', '', '[Network]', 'DHCP=yes'],
    ),
    symlinked(
      '/etc/systemd/system/multi-user.target.wants/systemd-networkd.service',
      '/lib/systemd/system/systemd-networkd.service',
    ),
  ];
}

/** update-initramfs when the modules changed since it was made, or when there is none yet. */
const updateInitramfs = defprop({
  name: 'libvirt.initramfsUpdated',
  desc: 'initramfs with virtiofs',
  // update-initramfs takes every module the file lists, so an initramfs newer than the
  // file that lists virtiofs has it (asking lsinitramfs takes a second).
  check: async (ctx) => {
    const r = await ctx.run(
      [
        'sh',
        '-c',
        'grep -qx virtiofs /etc/initramfs-tools/modules && [ /initrd.img -nt /etc/initramfs-tools/modules ]',
      ],
      { readOnly: true, allowFailure: true },
    );
    return r.exitCode === 0;
  },
  apply: async (ctx) => {
    const r = await ctx.run(['update-initramfs', '-u', '-k', 'all'], { allowFailure: true });
    if (r.exitCode !== 0) ctx.fail(`update-initramfs failed: ${r.stderr.trim()}`);
  },
});
function cmdUpdateInitramfs(): Propapp {
  return updateInitramfs();
}

/**
 * The seed's `kvm-boots-chroot-for`: `host`'s tree built (a nested deployment, once; or
 * on every deploy with `alwaysDeploys`), with what it needs to boot, then defined as a
 * libvirt domain booting it directly (kernel and initramfs from the tree, the tree as
 * root over virtiofs), and started with `autostart`. Refuses a guest named like this
 * host. Unapplied: destroyed, undefined, the tree removed.
 */
export function kvmBootsChrootFor(options: KvmBootsChrootOptions, host: Host): Propapp {
  const parsed = z.tuple([bootsOptions, hostSchema]).safeParse([options, host]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [index, ...rest] = issue.path;
    return invalidApplication(
      'libvirt.kvmBootsChrootFor',
      [index === 1 ? 'host' : 'options', ...rest].join('.'),
      issue.message,
    );
  }
  const o = parsed.data[0];
  const root = o.root ?? `${IMAGES}/${host.name}`;
  // The boot's needs first: what the guest's own properties decide (systemd or not) sees
  // them. Applied late (their hostattrs, which want the guest's OS, come after its own).
  const guest = host.withProps(eseq(appliedLate('what booting as a VM takes', eseq(...bootableProps(o))), host.root));
  const tree = osBootstrappedFor(o.chrootOptions as ChrootOptions, root, guest);
  const { alwaysDeploys: _a, root: _r, chrootOptions: _c, ...domain } = o;
  return desc(
    `${host.name} boots as a VM from ${root}`,
    eseq(
      refuseSameName(host),
      keptWhenUnapplied(installed()),
      o.alwaysDeploys ? tree : withFlagfile(`${root}.bootstrapped`, tree),
      imageMade(root, o.rootfs),
      definedFor(host, root, domain),
      o.autostart && bootStarted(host),
    ),
  );
}

/**
 * Where the guest boots from an image: the raw ext4 image made from the tree
 * (`mkfs.ext4 -d`: owners, modes and xattrs as they are, no loop mount), made again when
 * a file or link of the tree is newer than it. Made beside the old one and renamed over
 * it: a running guest keeps the old until its next start.
 */
const imageMade = defprop({
  name: 'libvirt.imageMade',
  desc: (root) => `${imagePath(root)} made from the tree`,
  args: z.tuple([z.string().startsWith('/'), domainOptions.shape.rootfs]),
  argNames: ['root', 'rootfs'],
  check: async (ctx, root, rootfs) => {
    if ((await ctx.memo(`libvirt.rootfs:${rootfs}`, () => chooseRoot(ctx, rootfs))).kind !== 'image') return true;
    const r = await ctx.run(
      [
        'sh',
        '-c',
        // (what a chroot connection into the tree puts there while it is open is not the tree's)
        '[ -f "$2" ] || exit 2; [ -z "$(find "$1" -xdev \\( -path "$1/usr/sbin/policy-rc.d" -o -path "$1/tmp" ' +
          '-o -path "$1/run" \\) -prune -o \\( -type f -o -type l \\) -newer "$2" -print -quit)" ]',
        'sh',
        root,
        imagePath(root),
      ],
      { readOnly: true, allowFailure: true },
    );
    if (r.exitCode === 0) return true;
    const before = r.exitCode === 2 ? 'absent' : 'older than the tree';
    return {
      applied: false,
      changes: [{ path: imagePath(root), before, after: 'made from the tree', kind: 'metadata' }],
    };
  },
  apply: async (ctx, root) => {
    const r = await ctx.run(
      [
        'sh',
        '-c',
        `size=$(du -sxb "$1" | cut -f1) || exit 1
size=$((size + size / 3 + 512 * 1024 * 1024))
tmp="$2.consfig-new"
rm -f "$tmp"
truncate -s "$size" "$tmp" && mkfs.ext4 -q -F -L rootfs -d "$1" "$tmp" && mv -f "$tmp" "$2" ||
  { rc=$?; rm -f "$tmp"; exit "$rc"; }`,
        'sh',
        root,
        imagePath(root),
      ],
      { affects: [imagePath(root), `${imagePath(root)}.consfig-new`], allowFailure: true },
    );
    if (r.exitCode !== 0) ctx.fail(`cannot make ${imagePath(root)}: ${r.stderr.trim() || `exit code ${r.exitCode}`}`);
  },
  unapply: async (ctx, root) => {
    await ctx.run(['rm', '-f', '--', imagePath(root)], { affects: [imagePath(root)] });
  },
});

/** Started, as part of kvmBootsChrootFor: a domain that cannot start is not left defined. */
const bootStarted = runningProperty('libvirt.bootStarted', true);

/** `prop` applied, but left as it is when the whole is unapplied (libvirt serves other guests). */
function keptWhenUnapplied(prop: Propapp): Propapp {
  return appliedLate(prop.desc, prop);
}

/** `prop` applied when its turn comes, its hostattrs not walked with the host's. */
function appliedLate(text: string, prop: Propapp): Propapp {
  return defprop({
    name: 'libvirt.appliedLate',
    desc: text,
    appliesOthers: true,
    apply: async (ctx) => (await ctx.apply(prop)).result,
    unapply: 'nothing',
  })();
}

/** A guest named like its hypervisor would be deployed into the wrong machine: refused. */
function refuseSameName(host: Host): Propapp {
  return defprop({
    name: 'libvirt.guestNamed',
    desc: `${host.name} is another host`,
    hostattrs: (h) => {
      if (h.hostname === host.name) h.inapplicable(`a guest cannot have its hypervisor's name (${host.name})`);
    },
  })();
}
