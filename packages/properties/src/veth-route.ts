/**
 * The entry of the veth routing image (veth.ts), run as root through userv or sudo by a
 * container's network hook. It believes nothing it was not given by userv or sudo
 * themselves: the calling user comes from them, the container must be that user's in
 * this host's hostattrs, the peer veth must be one LXC made for that user (lxc-user-nic
 * names them veth<UID>_…), and each address must be one the container routes for that
 * user. Only then does it run ip(8), with an argv.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { ImageRefusal, type ImageHost } from './image-runtime.js';

// The hostattr keys by name: the image carries them as data (see lxc.ts, veth.ts).
const CONTAINERS = { name: 'lxc.containers' };
const ROUTES = { name: 'veth.routes' };

const USER = /^[a-z_][a-z0-9_-]*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function refuse(message: string): never {
  throw new ImageRefusal(`veth-route: ${message}; nothing changed`);
}

function need(env: NodeJS.ProcessEnv, name: string, pattern: RegExp): string {
  const value = env[name];
  if (value === undefined || value === '') refuse(`${name} is missing`);
  if (!pattern.test(value) || value.includes('..')) refuse(`${name} is not acceptable: ${JSON.stringify(value)}`);
  return value;
}

interface Request {
  user: string;
  uid: string;
  type: 'add' | 'remove';
  peer: string;
  name: string;
  addresses: string[];
}

/** Who asks and what, from what userv or sudo set (nothing else is trusted). */
function request(argv: readonly string[], env: NodeJS.ProcessEnv): Request {
  const userv = env.USERV_USER !== undefined;
  const sudo = env.SUDO_USER !== undefined;
  if (userv === sudo) refuse('run it through userv or sudo (as a container network hook)');
  const user = need(env, userv ? 'USERV_USER' : 'SUDO_USER', USER);
  const uid = need(env, userv ? 'USERV_UID' : 'SUDO_UID', /^[0-9]{1,10}$/);
  const hook = need(env, userv ? 'USERV_U_HOOK_TYPE' : 'LXC_HOOK_TYPE', /^[a-z-]+$/);
  const type =
    hook === 'up' || hook === 'start'
      ? 'add'
      : hook === 'down' || hook === 'stop'
        ? 'remove'
        : refuse(`hook type ${hook} is neither up (start) nor down (stop)`);
  const peer = need(env, userv ? 'USERV_U_PEER' : 'LXC_NET_PEER', /^veth[0-9]+_[A-Za-z0-9]{1,10}$/);
  // lxc-user-nic names the host side of a user's veth after the user's uid.
  if (!peer.startsWith(`veth${uid}_`)) refuse(`${peer} does not belong to ${user}`);
  const name = need(env, userv ? 'USERV_U_NAME' : 'LXC_NAME', NAME);
  if (argv.length === 0) refuse('no address given');
  for (const a of argv) if (isIP(a) === 0) refuse(`${JSON.stringify(a)} is not an address`);
  return { user, uid, type, peer, name, addresses: [...argv] };
}

export default function route(host: ImageHost, argv: string[], env: NodeJS.ProcessEnv): void {
  const r = request(argv, env);
  const container = host
    .get<{ name: string; owner: string; host: { host: string } }>(CONTAINERS)
    .find((c) => c.name === r.name);
  if (!container || container.owner !== r.user) refuse(`${r.name} is not a container of ${r.user} on ${host.hostname}`);
  const routes = host.of(container.host).get<{ user: string; address: string }>(ROUTES);
  for (const a of r.addresses) {
    if (!routes.some((x) => x.user === r.user && x.address === a)) refuse(`${r.user} may not route ${a} to ${r.name}`);
  }
  if (!existsSync(`/sys/class/net/${r.peer}`)) refuse(`there is no interface ${r.peer}`);
  for (const a of r.addresses) {
    const [family, prefix] = isIP(a) === 6 ? ['-6', '128'] : ['-4', '32'];
    const argvIp =
      r.type === 'add'
        ? ['ip', family, 'route', 'replace', `${a}/${prefix}`, 'dev', r.peer]
        : ['ip', family, 'route', 'del', `${a}/${prefix}`, 'dev', r.peer];
    try {
      execFileSync(argvIp[0]!, argvIp.slice(1), {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
      // Going down, a route the kernel already dropped with the veth is no failure.
      if (r.type === 'remove' && /No such process|Cannot find device/.test(stderr)) continue;
      throw new ImageRefusal(`veth-route: ${argvIp.join(' ')} failed: ${stderr}`);
    }
  }
}
