/**
 * ssh (the client side): a user's authorized_keys and known_hosts, the system's
 * ssh_known_hosts, and a key pair made on the target (its private half never leaves it).
 * Per-user files are the user's, in a 0700 ~/.ssh, mode 0600 (known_hosts 0644).
 * (The ssh connection hop is `ssh` of @consfig/connections; import one under another
 * name where a config uses both.)
 */
import { defprop, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { change, checkLines, joinLines, regularContent, rewriteLines, splitLines } from './text-file.js';
import { entryOrFail, type PasswdEntry } from './user.js';
import { userName } from './user-ids.js';

const KEY = new RegExp(
  String.raw`^(?:\S+\s+)?(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|` +
    String.raw`sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/]+={0,3}(?:\s.*)?$`,
);
const publicKey = z
  .string()
  .transform((k) => k.trim())
  .refine((k) => KEY.test(k) && !k.includes('\n'), {
    message: "must be one public key line ('ssh-ed25519 AAAA… comment')",
  });
const publicKeys = z
  .union([publicKey, z.array(publicKey)], {
    errorMap: () => ({ message: 'must be a public key line or an array of them' }),
  })
  .transform((k) => (typeof k === 'string' ? [k] : k));

async function sshDir(ctx: PropertyContext, e: PasswdEntry): Promise<string> {
  const dir = `${e.home}/.ssh`;
  const info = await ctx.stat(dir);
  if (!info.exists) {
    await ctx.run(['mkdir', '-m', '0700', '--', dir], { affects: [dir] });
    await ctx.run(['chown', `${e.uid}:${e.gid}`, '--', dir], { affects: [dir] });
  } else if (info.type !== 'directory') ctx.fail(`${dir} is not a directory`);
  return dir;
}

/** Rewrite a file of the user's with `edit`, making it theirs with `mode` when it is new. */
async function editUserFile(
  ctx: PropertyContext,
  user: string,
  name: string,
  edit: (old: string[]) => string[],
  mode: number,
) {
  const e = await entryOrFail(ctx, user);
  const path = `${await sshDir(ctx, e)}/${name}`;
  const before = await regularContent(ctx, path);
  const after = joinLines(edit(splitLines(before?.toString('utf8') ?? '')));
  if (before?.toString('utf8') === after) return 'unchanged' as const;
  // Mode and owner given: a new file is the user's; an old one is put right too.
  await ctx.writeFile(path, after, { mode, owner: String(e.uid), group: String(e.gid) });
  return { result: 'changed' as const, changes: [change(path, before, Buffer.from(after))] };
}

async function checkUserFile(ctx: PropertyContext, user: string, name: string, edit: (old: string[]) => string[]) {
  const e = await entryOrFail(ctx, user);
  return checkLines(ctx, `${e.home}/.ssh/${name}`, edit);
}

const keyBody = (line: string) => line.match(/(\S+\s+[A-Za-z0-9+/]+={0,3})(?:\s|$)/)?.[1];
const addKeys = (keys: readonly string[]) => (old: string[]) => {
  const have = new Set(old.map(keyBody));
  return [...old, ...keys.filter((k, i) => !have.has(keyBody(k)) && keys.indexOf(k) === i)];
};
const onlyKeys = (keys: readonly string[]) => () => [...new Set(keys)];

const authorizedOptions = z
  .object({ exact: z.boolean().default(false) })
  .strict()
  .optional();

/**
 * `user`'s authorized_keys has these keys (a key counts as there whatever its comment);
 * with `exact`, it has only these.
 */
export const authorizedKeys = withParams<[user: Arg, keys: Arg, options?: Arg]>()(
  defprop({
    name: 'ssh.authorizedKeys',
    desc: (user, keys, o) =>
      `${user} authorizes ${o?.exact ? 'only ' : ''}${keys.length} ssh key${keys.length === 1 ? '' : 's'}`,
    args: z.tuple([userName, publicKeys, authorizedOptions]),
    argNames: ['user', 'keys', 'options'],
    check: (ctx, user, keys, o) =>
      checkUserFile(ctx, user, 'authorized_keys', o?.exact ? onlyKeys(keys) : addKeys(keys)),
    apply: (ctx, user, keys, o) =>
      editUserFile(ctx, user, 'authorized_keys', o?.exact ? onlyKeys(keys) : addKeys(keys), 0o600),
    unapply: (ctx, user, keys) =>
      editUserFile(
        ctx,
        user,
        'authorized_keys',
        (old) => old.filter((l) => !keys.map(keyBody).includes(keyBody(l))),
        0o600,
      ),
  }),
);

const hostNames = z
  .union([z.string(), z.array(z.string())])
  .transform((h) => (typeof h === 'string' ? [h] : h))
  .refine((h) => h.length > 0 && h.every((n) => /^(\[[^\]\s]+\]:\d+|[A-Za-z0-9.:_-]+)$/.test(n)), {
    message: "must be host names or addresses ('web1.example', '[127.0.0.1]:2222')",
  });

/** known_hosts has `names key` for the key's type, replacing an older key of that type for those names. */
const knownLine = (names: readonly string[], key: string) => (old: string[]) => {
  const line = `${names.join(',')} ${key.split(/\s+/).slice(0, 2).join(' ')}`;
  const type = key.split(/\s+/)[0];
  const stale = (l: string) => {
    const [hosts, t] = l.split(/\s+/);
    return t === type && hosts !== undefined && hosts.split(',').some((h) => names.includes(h)) && l !== line;
  };
  const kept = old.filter((l) => !stale(l));
  return kept.includes(line) ? kept : [...kept, line];
};

/** `user`'s known_hosts has `key` for `hosts` (a line replaced or added). */
export const knownHost = withParams<[user: Arg, hosts: Arg, key: Arg]>()(
  defprop({
    name: 'ssh.knownHost',
    desc: (user, names) => `${user} knows ${names.join(', ')}'s host key`,
    args: z.tuple([userName, hostNames, publicKey]),
    argNames: ['user', 'hosts', 'key'],
    check: (ctx, user, names, key) => checkUserFile(ctx, user, 'known_hosts', knownLine(names, key)),
    apply: (ctx, user, names, key) => editUserFile(ctx, user, 'known_hosts', knownLine(names, key), 0o644),
  }),
);

/** /etc/ssh/ssh_known_hosts has `key` for `hosts`, for every user. */
export const systemKnownHost = withParams<[hosts: Arg, key: Arg]>()(
  defprop({
    name: 'ssh.systemKnownHost',
    desc: (names) => `${names.join(', ')}'s host key is known system-wide`,
    args: z.tuple([hostNames, publicKey]),
    argNames: ['hosts', 'key'],
    prefetch: () => [{ path: '/etc/ssh/ssh_known_hosts', content: true }],
    check: (ctx, names, key) => checkLines(ctx, '/etc/ssh/ssh_known_hosts', knownLine(names, key)),
    apply: (ctx, names, key) => rewriteLines(ctx, '/etc/ssh/ssh_known_hosts', knownLine(names, key)),
  }),
);

const keyType = z.enum(['ed25519', 'rsa', 'ecdsa']).default('ed25519');

/** `user` has a key pair ~/.ssh/id_TYPE made on the target by ssh-keygen (no passphrase). */
export const hasUserKey = withParams<[user: Arg, options?: Arg]>()(
  defprop({
    name: 'ssh.hasUserKey',
    desc: (user, o) => `${user} has an ssh ${o?.type ?? 'ed25519'} key`,
    args: z.tuple([userName, z.object({ type: keyType }).strict().optional()]),
    argNames: ['user', 'options'],
    check: async (ctx, user, o) => {
      const e = await entryOrFail(ctx, user);
      const base = `${e.home}/.ssh/id_${o?.type ?? 'ed25519'}`;
      if ((await ctx.stat(base)).exists && (await ctx.stat(`${base}.pub`)).exists) return true;
      return { applied: false, changes: [{ path: base, before: 'absent', after: 'a new key pair', kind: 'metadata' }] };
    },
    apply: async (ctx, user, o) => {
      const e = await entryOrFail(ctx, user);
      const dir = await sshDir(ctx, e);
      const base = `${dir}/id_${o?.type ?? 'ed25519'}`;
      if ((await ctx.stat(base)).exists) ctx.fail(`${base} exists without its .pub: remove it or restore the .pub`);
      if (!(await ctx.test(['sh', '-c', 'command -v ssh-keygen']))) {
        ctx.fail(`ssh-keygen is not installed on ${ctx.hostname} (apt.installed('openssh-client') first)`);
      }
      await ctx.run(
        [
          'runuser',
          '-u',
          user,
          '--',
          'ssh-keygen',
          '-q',
          '-t',
          o?.type ?? 'ed25519',
          '-N',
          '',
          '-C',
          `${user}@${ctx.hostname}`,
          '-f',
          base,
        ],
        {
          affects: [dir],
        },
      );
    },
  }),
);
