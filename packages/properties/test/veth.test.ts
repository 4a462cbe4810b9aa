/**
 * The seed's veth routing hook, for real: an unprivileged container of a test user on a
 * bridge of the test's own, whose network hook asks the routing image (as root, through
 * userv and then sudo) to route its address; and every way of asking wrongly refused.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, type Host } from '@consfig/core';
import { file, lxc, os, veth } from '../src/index.js';
import { isRunning, removeAllContainers, sh } from './support/lxc.js';
import { DENIED_USER, ensureUsers, PASSWORD_USER, TEST_USER } from '../../connections/test/support/machine.js';

const LXCPATH = `/var/lib/consfig-test/lxc-veth-${TEST_USER}`;
const LXCPATH2 = `/var/lib/consfig-test/lxc-veth-${PASSWORD_USER}`;
const BRIDGE = 'cvbr0';
const NET = '10.77.5';
// A routing setup of the test's own, beside the seed-lab's default one.
const NAME = 'consfig-veth-test';
const PATHS = veth.routingPaths(NAME);
const uid = (user: string) => execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();

function container(name: string, owner: string, addresses: string[]): Host {
  return defineHost(`${name}.veth.example`, [
    os.debianStable('bookworm', 'amd64'),
    file.hasContent('/etc/motd', `this is ${name}`),
    ...addresses.map((a) => veth.routes(owner, a)),
  ]);
}

function containerHost(via: 'userv' | 'sudo', v1: Host, start = true): Host {
  const lines = [
    'lxc.init.cmd = /usr/bin/sleep infinity',
    'lxc.net.0.type = veth',
    `lxc.net.0.link = ${BRIDGE}`,
    'lxc.net.0.flags = up',
  ];
  const other = container('w1', PASSWORD_USER, [`${NET}.20`]);
  return defineHost(
    'vethhost.example',
    [
      os.debianStable('bookworm', 'amd64'),
      lxc.usernetUsableBy(TEST_USER, BRIDGE),
      veth.routingHook({ via, name: NAME }),
      lxc.userContainerFor(
        {
          owner: TEST_USER,
          lxcpath: LXCPATH,
          start,
          additionalLines: [...lines, ...veth.hookLines(v1, TEST_USER, { name: NAME })],
        },
        v1,
      ),
      // another user's container, not started: the image knows it is not TEST_USER's
      lxc.userContainerFor({ owner: PASSWORD_USER, lxcpath: LXCPATH2, additionalLines: lines }, other),
    ],
    { via: 'local' },
  );
}

/** The kernel's routes into the test's network. */
function routes(): string {
  return sh(`ip route show | grep '^${NET}\\.[0-9]* ' || true`);
}

/** Run as `user`, in a login-less shell. */
function asUser(user: string, script: string, env: Record<string, string> = {}) {
  const vars = Object.entries(env)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return spawnSync('su', [user, '-s', '/bin/sh', '-c', `${vars ? `export ${vars}; ` : ''}${script}`], {
    encoding: 'utf8',
  });
}

beforeAll(() => {
  ensureUsers();
  sh(`ip link show ${BRIDGE} >/dev/null 2>&1 || ip link add ${BRIDGE} type bridge; ip link set ${BRIDGE} up
      ip addr show dev ${BRIDGE} | grep -q '${NET}.1/24' || ip addr add ${NET}.1/24 dev ${BRIDGE}
      pgrep -x uservd >/dev/null || { mkdir -p -m 700 /var/run/userv; /usr/sbin/uservd -daemon; }`);
  removeAllContainers(TEST_USER, LXCPATH);
  removeAllContainers(PASSWORD_USER, LXCPATH2);
});
afterAll(() => {
  removeAllContainers(TEST_USER, LXCPATH);
  removeAllContainers(PASSWORD_USER, LXCPATH2);
  sh(`ip link del ${BRIDGE} 2>/dev/null || true; ip link del veth${uid(TEST_USER)}_t 2>/dev/null || true
      rm -f ${PATHS.uservFile} ${PATHS.sudoersFile}`);
});

describe('the veth routing hook', () => {
  for (const via of ['userv', 'sudo'] as const) {
    it(`routes the container's address while it runs, through ${via}, and not after`, async () => {
      const v1 = container('v1', TEST_USER, [`${NET}.10`]);
      const r = await deploy(containerHost(via, v1));
      expect(r.failures.map((f) => f.error.message)).toEqual([]);
      expect(isRunning(TEST_USER, LXCPATH, 'v1')).toBe(true);
      expect(routes()).toMatch(new RegExp(`^${NET}\\.10 dev veth${uid(TEST_USER)}_\\w+ scope link`, 'm'));
      // the image is rewritten only when what it carries changes
      expect((await deploy(containerHost(via, v1))).changed).toBe(0);
      asUserLxc(`lxc-stop -P ${LXCPATH} -n v1 -k`);
      expect(routes()).toBe('');
    }, 300_000);
  }

  it('lets a second address be routed once the host is deployed with it, and takes it away again', async () => {
    const two = container('v1', TEST_USER, [`${NET}.10`, `${NET}.11`]);
    expect((await deploy(containerHost('userv', two))).failures).toEqual([]);
    expect(routes()).toMatch(new RegExp(`^${NET}\\.11 dev veth`, 'm'));
    asUserLxc(`lxc-stop -P ${LXCPATH} -n v1 -k`);
    // back to one: the old config still asks for .11, which the new image refuses
    const one = container('v1', TEST_USER, [`${NET}.10`]);
    const image = await deploy(containerHost('userv', one, false));
    expect(image.failures).toEqual([]);
    const refused = hook('userv', TEST_USER, { PEER: livePeerPlaceholder(), NAME: 'v1' }, [`${NET}.11`]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(new RegExp(`may not route ${NET.replaceAll('.', '\\.')}\\.11 to v1`));
  }, 300_000);
});

/** A peer name of the test user that exists: a veth made by hand for the refusal tests. */
function livePeerPlaceholder(): string {
  const name = `veth${uid(TEST_USER)}_t`;
  sh(
    `ip link show ${name} >/dev/null 2>&1 || ip link add ${name} type veth peer name ${name}p
     ip link set ${name}p up; ip link set ${name} up`,
  );
  return name;
}

function asUserLxc(command: string): void {
  execFileSync('su', [TEST_USER, '-s', '/bin/sh', '-c', command]);
}

/** Ask the image as LXC's hook would, through userv (variables) or sudo (LXC's variables). */
function hook(
  via: 'userv' | 'sudo',
  user: string,
  vars: Record<string, string | undefined>,
  args: string[],
  type = 'up',
) {
  const quoted = args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  if (via === 'userv') {
    const defines = Object.entries({ HOOK_TYPE: type, ...vars })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `-D${k}='${String(v).replaceAll("'", `'\\''`)}'`)
      .join(' ');
    return asUser(user, `userv ${defines} root ${PATHS.service} ${quoted}`);
  }
  const env = Object.fromEntries(
    Object.entries({ LXC_HOOK_TYPE: type, LXC_NET_PEER: vars.PEER, LXC_NAME: vars.NAME }).filter(
      ([, v]) => v !== undefined,
    ),
  ) as Record<string, string>;
  return asUser(user, `sudo -n ${PATHS.image} ${quoted}`, env);
}

describe('the routing image refuses, changing nothing', () => {
  for (const via of ['userv', 'sudo'] as const) {
    it(`every wrong request through ${via}`, async () => {
      const v1 = container('v1', TEST_USER, [`${NET}.10`]);
      expect((await deploy(containerHost(via, v1, false))).failures).toEqual([]);
      const peer = livePeerPlaceholder();
      const ok = { PEER: peer, NAME: 'v1' };
      const before = routes();
      const cases: [string, ReturnType<typeof hook>, RegExp][] = [
        [
          'another user’s veth',
          hook(via, TEST_USER, { ...ok, PEER: `veth${uid(PASSWORD_USER)}_abcd` }, [`${NET}.10`]),
          /does not belong to/,
        ],
        ['an address not its own', hook(via, TEST_USER, ok, [`${NET}.99`]), /may not route 10\.77\.5\.99 to v1/],
        [
          'a name with shell characters',
          hook(via, TEST_USER, { ...ok, NAME: 'v1;touch /tmp/pwned' }, [`${NET}.10`]),
          /NAME is not acceptable/,
        ],
        ['a name with ..', hook(via, TEST_USER, { ...ok, NAME: '..v1' }, [`${NET}.10`]), /NAME is not acceptable/],
        ['an address with a newline', hook(via, TEST_USER, ok, [`${NET}.10\nid`]), /is not an address/],
        ['an address with shell characters', hook(via, TEST_USER, ok, [`${NET}.10;id`]), /is not an address/],
        ['a missing variable', hook(via, TEST_USER, { NAME: 'v1' }, [`${NET}.10`]), /PEER is missing/],
        ['an empty variable', hook(via, TEST_USER, { ...ok, NAME: '' }, [`${NET}.10`]), /NAME is missing/],
        ['an extra argument', hook(via, TEST_USER, ok, [`${NET}.10`, '--force']), /"--force" is not an address/],
        ['no address', hook(via, TEST_USER, ok, []), /no address given/],
        [
          'another hook type',
          hook(via, TEST_USER, ok, [`${NET}.10`], 'pre-start'),
          /hook type pre-start is neither up/,
        ],
        // consfig-tpass may call the image (it routes its own container): not for v1
        [
          'another user’s container',
          hook(via, PASSWORD_USER, { PEER: `veth${uid(PASSWORD_USER)}_t`, NAME: 'v1' }, [`${NET}.10`]),
          /v1 is not a container of consfig-tpass/,
        ],
        // consfig-tdeny routes nothing: userv or sudo turn it away before the image runs
        [
          'a user who routes nothing',
          hook(via, DENIED_USER, ok, [`${NET}.10`]),
          via === 'userv' ? /rejected/ : /password is required/,
        ],
      ];
      for (const [what, result, message] of cases) {
        expect([what, result.status !== 0, result.stderr]).toEqual([what, true, expect.stringMatching(message)]);
      }
      expect(routes()).toBe(before);
      expect(existsSync('/tmp/pwned')).toBe(false);
      // and the right request works
      expect(hook(via, TEST_USER, ok, [`${NET}.10`]).status).toBe(0);
      expect(routes()).toMatch(new RegExp(`^${NET}\\.10 dev ${peer}`, 'm'));
      expect(hook(via, TEST_USER, ok, [`${NET}.10`], 'down').status).toBe(0);
      expect(routes()).toBe(before);
    }, 300_000);
  }

  it('never lets node options or the loader’s preload reach node, through sudo or as root', async () => {
    const v1 = container('v1', TEST_USER, [`${NET}.10`]);
    expect((await deploy(containerHost('sudo', v1, false))).failures).toEqual([]);
    const marker = '/tmp/consfig-node-options-honoured';
    rmSync(marker, { force: true });
    writeFileSync('/tmp/consfig-evil.cjs', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'yes');\n`, {
      mode: 0o644,
    });
    const evil = { NODE_OPTIONS: '--require=/tmp/consfig-evil.cjs', LD_PRELOAD: '/nonexistent/consfig-evil.so' };
    const viaSudo = asUser(TEST_USER, `sudo -n ${PATHS.image} ${NET}.10`, {
      ...evil,
      LXC_HOOK_TYPE: 'up',
      LXC_NET_PEER: livePeerPlaceholder(),
      LXC_NAME: 'v1',
    });
    expect(viaSudo.status, viaSudo.stderr).toBe(0);
    expect(viaSudo.stderr).not.toMatch(/preload/);
    const asRoot = spawnSync(PATHS.image, [`${NET}.10`], {
      env: { ...process.env, NODE_OPTIONS: evil.NODE_OPTIONS },
      encoding: 'utf8',
    });
    expect(asRoot.stderr).toMatch(/run it through userv or sudo/);
    expect(existsSync(marker)).toBe(false);
    hook('sudo', TEST_USER, { PEER: livePeerPlaceholder(), NAME: 'v1' }, [`${NET}.10`], 'down');
  }, 300_000);
});
