/**
 * Images: built here, they run on a target without node and without this machine's
 * config, answer hostattr queries as the deploy did, and are rewritten only (and
 * atomically) when what they carry changes. And code run at the far end.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineHost, defprop, deploy, hasAttr, type DeployEvent, type Host } from '@consfig/core';
import { chroot as chrootHop } from '@consfig/connections';
import { image, runtime } from '../src/index.js';
import { colour, member } from './fixtures/image-entry.js';
import { startSshd, unpackRootfs, type TestSshd } from '../../connections/test/support/machine.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/image-entry.ts', import.meta.url));
let tree: string;
let entry: string;

beforeAll(() => {
  tree = unpackRootfs('/var/lib/consfig-test/image-tree');
  // The entry lives where the test can take it away, with the config.
  const dir = mkdtempSync(join(tmpdir(), 'consfig-image-src-'));
  entry = join(dir, 'entry.ts');
  copyFileSync(FIXTURE, entry);
  execFileSync('ln', ['-s', fileURLToPath(new URL('../node_modules', import.meta.url)), join(dir, 'node_modules')]);
}, 300_000);

function hostWith(name: string, value: string, path = '/usr/local/bin/img'): Host {
  const inner = defineHost('inner.example', [hasAttr(colour, `${value} inside`)]);
  return defineHost(name, [hasAttr(colour, value), hasAttr(member, { host: inner }), image.dumped({ path, entry })], {
    via: [chrootHop(tree)],
  });
}

function runInTree(...args: string[]) {
  return spawnSync('/usr/sbin/chroot', [tree, '/usr/local/bin/img', ...args], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', NODE_OPTIONS: '--no-such-option', SUDO_USER: 'bob' },
  });
}

describe('image.dumped', () => {
  it('runs on a target without node, with none of this machine, answering as the deploy did', async () => {
    expect(spawnSync('chroot', [tree, 'sh', '-c', 'command -v node']).status).not.toBe(0);
    const first = await deploy(hostWith('img.example', 'blue'));
    expect(first.failures.map((f) => f.error.message)).toEqual([]);
    const st = statSync(join(tree, 'usr/local/bin/img'));
    expect([st.uid, st.mode & 0o7777]).toEqual([0, 0o755]);
    rmSync(join(entry, '..'), { recursive: true, force: true }); // the config is gone
    const r = runInTree('a', 'b c');
    expect(r.status, r.stderr).toBe(7);
    expect(JSON.parse(r.stdout)).toEqual({
      host: 'img.example',
      colour: ['blue'],
      members: [['inner.example', ['blue inside']]],
      argv: ['a', 'b c'],
      env: ['PATH', 'SUDO_USER'],
      version: 'v1',
    });
    expect(spawnSync('chroot', [tree, 'sh', '-c', 'command -v node']).status).not.toBe(0);
    // restore the entry for the tests below
    const dir = join(entry, '..');
    execFileSync('mkdir', ['-p', dir]);
    copyFileSync(FIXTURE, entry);
    execFileSync('ln', ['-s', fileURLToPath(new URL('../node_modules', import.meta.url)), join(dir, 'node_modules')]);
  }, 300_000);

  it('passes on the kept variables only, whole, whatever their values hold', () => {
    // A value with newlines can look like more variables to a launcher that lists them.
    const sneaky = 'one\nexport LXC_EVIL=1\nexport LXC_$(touch /tmp/consfig-img-pwned)=2\ndeclare -x USERV_X=3\n';
    const r = spawnSync('/usr/sbin/chroot', [tree, '/usr/local/bin/img', 'env'], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', LXC_NOTE: sneaky, USERV_USER: 'bob', NODE_OPTIONS: '--no-such-option', HOME: '/' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      LXC_NOTE: sneaky,
      USERV_USER: 'bob',
    });
    expect(existsSync(join(tree, 'tmp/consfig-img-pwned'))).toBe(false);
  });

  it('is rewritten only when what it carries changes, atomically, while a copy runs', async () => {
    expect((await deploy(hostWith('img.example', 'blue'))).changed).toBe(0);
    const events: DeployEvent[] = [];
    const dry = await deploy(hostWith('img.example', 'green'), undefined, {
      dryRun: true,
      onEvent: (e) => events.push(e),
    });
    expect(dry.changed).toBe(1);
    const change = events.flatMap((e) => (e.type === 'property:end' ? e.changes : []))[0];
    expect(change).toMatchObject({
      path: '/usr/local/bin/img',
      kind: 'metadata',
      before: expect.stringMatching(/^image [0-9a-f]{12}$/),
    });
    // a copy that runs while the image is replaced finishes as what it was
    const running = spawn('chroot', [tree, '/usr/local/bin/img', 'wait', '1500']);
    let out = '';
    running.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    expect((await deploy(hostWith('img.example', 'green'))).changed).toBe(1);
    await new Promise((r) => running.on('exit', r));
    expect(JSON.parse(out).colour).toEqual(['blue']);
    expect(JSON.parse(runInTree().stdout).colour).toEqual(['green']);
    // new code is a change too
    writeFileSync(entry, readFileSync(entry, 'utf8').replace("version: 'v1'", "version: 'v2'"));
    expect((await deploy(hostWith('img.example', 'green'))).changed).toBe(1);
    expect(JSON.parse(runInTree().stdout).version).toBe('v2');
    expect((await deploy(hostWith('img.example', 'green'))).changed).toBe(0);
  }, 300_000);

  it('refuses a module that does not bundle, saying where', async () => {
    const bad = join(entry, '..', 'bad.ts');
    writeFileSync(bad, 'import { nothing } from "./nowhere.js";\nexport default nothing;\n');
    const host = defineHost('img.example', [image.dumped({ path: '/usr/local/bin/bad', entry: bad })], {
      via: [chrootHop(tree)],
    });
    const r = await deploy(host);
    expect(r.failures[0]?.error.message).toMatch(/Could not resolve "\.\/nowhere\.js"/);
  });
});

describe('code at the far end', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 120_000);

  const reportModule = () => {
    const dir = mkdtempSync(join(tmpdir(), 'consfig-far-'));
    const file = join(dir, 'report.ts');
    writeFileSync(
      file,
      [
        'export function report(argv: string[]): number {',
        '  process.stdout.write(JSON.stringify({ argv, uid: process.getuid!(), node: process.execPath }));',
        '  return 3;',
        '}\n',
      ].join('\n'),
    );
    return file;
  };

  it("runs on the target's node, else on the node consfig ships, with the chain's privileges", async () => {
    const module = reportModule();
    const seen: unknown[] = [];
    const call = defprop({
      name: 'test.farEnd',
      desc: 'far end',
      apply: async (ctx) => {
        const r = await runtime.runAtFarEnd(ctx, { module, export: 'report', argv: ['x', 'y z'] });
        seen.push([r.exitCode, JSON.parse(r.stdout)]);
      },
    });
    for (const via of [[sshd.hop('root')], [chrootHop(tree)]]) {
      const r = await deploy(defineHost('far.example', [call()], { via }));
      expect(r.failures.map((f) => f.error.message)).toEqual([]);
    }
    expect(seen).toEqual([
      [3, { argv: ['x', 'y z'], uid: 0, node: '/usr/bin/node' }],
      [
        3,
        {
          argv: ['x', 'y z'],
          uid: 0,
          node: expect.stringMatching(/^\/usr\/local\/lib\/consfig\/runtime\/node-v\d+\.\d+\.\d+-x64-\d+\/node$/),
        },
      ],
    ]);
    void sshd.stop();
  }, 300_000);
});
