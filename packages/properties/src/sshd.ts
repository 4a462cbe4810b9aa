/**
 * sshd: the OpenSSH server's settings in a drop-in under /etc/ssh/sshd_config.d (which
 * Debian's sshd_config includes first, so its values win), checked by `sshd -t` with the
 * new values before the file is written, and sshd reloaded when it changed.
 */
import { defprop, desc, eseq, onChange, type Propapp, type PropertyContext } from '@consfig/core/property';
import { z } from 'zod';
import { installed } from './apt.js';
import { reloaded } from './service.js';
import { change, joinLines, regularContent } from './text-file.js';

const keyword = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be an sshd_config keyword such as PermitRootLogin');
const settings = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .transform((s) =>
    Object.entries(s).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v)] as const),
  )
  .superRefine((pairs, ctx) => {
    if (pairs.length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'give at least one setting' });
    for (const [k, v] of pairs) {
      const bad = keyword.safeParse(k);
      if (!bad.success) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: bad.error.issues[0]!.message });
      if (/[\n]/.test(v) || v.trim() === '')
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: 'must be one non-empty line' });
    }
  });
const dropInName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ and -');

const pathOf = (name: string) => `/etc/ssh/sshd_config.d/${name}.conf`;
const text = (pairs: readonly (readonly [string, string])[]) =>
  joinLines(['# Written by consfig', ...pairs.map(([k, v]) => `${k} ${v}`)]);

/** sshd -t with the settings as -o options: its own words when one is wrong. */
async function validate(ctx: PropertyContext, pairs: readonly (readonly [string, string])[]) {
  // sshd -t wants its privilege separation directory, which a fresh /run (a chroot's) lacks.
  const r = await ctx.run(
    [
      'sh',
      '-c',
      'mkdir -p -m 0755 /run/sshd && exec /usr/sbin/sshd -t "$@"',
      'sshd',
      ...pairs.flatMap(([k, v]) => ['-o', `${k}=${v}`]),
    ],
    { affects: ['/run/sshd'], allowFailure: true },
  );
  if (r.exitCode !== 0) ctx.fail(`sshd -t refuses these settings: ${r.stderr.trim() || `exit code ${r.exitCode}`}`);
}

const dropIn = defprop({
  name: 'sshd.dropIn',
  desc: (_pairs, name) => `${pathOf(name)} has the settings`,
  args: z.tuple([settings, dropInName]),
  argNames: ['settings', 'name'],
  prefetch: (_pairs, name) => [{ path: pathOf(name), content: true }],
  check: async (ctx, pairs, name) => {
    const old = await regularContent(ctx, pathOf(name));
    const want = Buffer.from(text(pairs));
    return old?.equals(want) ? true : { applied: false, changes: [change(pathOf(name), old, want)] };
  },
  apply: async (ctx, pairs, name) => {
    await validate(ctx, pairs);
    await ctx.writeFile(pathOf(name), text(pairs), { mode: 0o644, owner: 'root', group: 'root' });
  },
  unapply: async (ctx, _pairs, name) => {
    await ctx.run(['rm', '-f', '--', pathOf(name)], { affects: [pathOf(name)] });
  },
});

/**
 * `sshd.configured({ PasswordAuthentication: false, Port: 2222 })`: openssh-server
 * installed, the settings in sshd_config.d/NAME.conf (NAME `consfig` unless given), sshd
 * reloaded on change. A setting sshd refuses fails the property before anything is written.
 */
export function configured(values: Record<string, string | number | boolean>, name = 'consfig'): Propapp {
  return desc('sshd configured', eseq(installed('openssh-server'), onChange(dropIn(values, name), reloaded('ssh'))));
}

/** Root's authorized_keys is not empty: only then may passwords be turned off. */
const rootHasKeys = defprop({
  name: 'sshd.rootHasKeys',
  desc: 'root can log in with a key',
  args: z.tuple([]),
  prefetch: () => [{ path: '/root/.ssh/authorized_keys', content: true }],
  check: async (ctx) => {
    const info = await ctx.stat('/root/.ssh/authorized_keys');
    const keys = info.exists ? (await ctx.readFile('/root/.ssh/authorized_keys')).toString('utf8') : '';
    return /^\s*[^#\s]/m.test(keys);
  },
  // Nothing to do but refuse: consfig does not invent keys.
  apply: (ctx) =>
    ctx.fail(
      `root has no authorized_keys on ${ctx.hostname}: ` +
        'turning passwords off would lock everyone out (ssh.authorizedKeys first)',
    ),
});

/** Password logins off (keys only), refused while root has no authorized key. */
export function noPasswords(): Propapp {
  return desc(
    'sshd accepts no passwords',
    eseq(
      rootHasKeys(),
      configured({ PasswordAuthentication: 'no', KbdInteractiveAuthentication: 'no' }, 'consfig-no-passwords'),
    ),
  );
}

const keyType = z.enum(['ed25519', 'rsa', 'ecdsa']);

/**
 * The host key of `type` from prerequisite data: the private key from (HOST,
 * ssh_host_TYPE_key), mode 0600; the public key given here (it is not secret), 0644.
 * sshd reloaded when either changed.
 */
const hostKeyFiles = defprop({
  name: 'sshd.hostKey',
  desc: (type) => `ssh host ${type} key`,
  args: z.tuple([
    keyType,
    z.string().regex(/^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/]+={0,3}( .*)?$/, 'must be the public key line'),
  ]),
  argNames: ['type', 'publicKey'],
  hostattrs: (h, type) => h.requireData(h.hostname, `ssh_host_${type}_key`),
  prefetch: (type) => [
    { path: `/etc/ssh/ssh_host_${type}_key`, content: true },
    { path: `/etc/ssh/ssh_host_${type}_key.pub`, content: true },
  ],
  check: async (ctx, type, pub) => {
    const base = `/etc/ssh/ssh_host_${type}_key`;
    const secret = await ctx.getData(ctx.hostname, `ssh_host_${type}_key`);
    const [priv, pubInfo] = [await ctx.stat(base), await ctx.stat(`${base}.pub`)];
    const changes = [];
    if (!(priv.exists && priv.mode === 0o600 && (await ctx.readFile(base)).equals(secret)))
      changes.push({ path: base, before: null, after: null, kind: 'secret' as const });
    const oldPub = pubInfo.exists ? await ctx.readFile(`${base}.pub`) : null;
    if (oldPub?.toString('utf8') !== `${pub.trim()}\n`)
      changes.push(change(`${base}.pub`, oldPub, Buffer.from(`${pub.trim()}\n`)));
    return changes.length === 0 ? true : { applied: false, changes };
  },
  apply: async (ctx, type, pub) => {
    const base = `/etc/ssh/ssh_host_${type}_key`;
    await ctx.writeFile(base, await ctx.getData(ctx.hostname, `ssh_host_${type}_key`), {
      mode: 0o600,
      owner: 'root',
      group: 'root',
    });
    await ctx.writeFile(`${base}.pub`, `${pub.trim()}\n`, { mode: 0o644, owner: 'root', group: 'root' });
  },
});

/** sshd has this host key (`publicKey`; the private half from the data sources), reloaded after a change. */
export function hostKey(type: 'ed25519' | 'rsa' | 'ecdsa', publicKey: string): Propapp {
  return onChange(hostKeyFiles(type, publicKey), reloaded('ssh'));
}
