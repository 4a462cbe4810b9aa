/**
 * `consfig deploy` never harms a target: a killed controller leaves no half-written
 * file and no process behind, a failed write says why, two deployments of one machine
 * take turns, and a host without a via is never deployed to this machine by default.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  PASSWORD_USER,
  processTable,
  startSshd,
  type TestSshd,
} from '../../../connections/test/support/machine.js';
import { BIN, consfig, onTerminal, startConsfig, until, type Ran } from '../support/cli.js';

/** consfig as another (ordinary) user, without a terminal. */
function consfigAs(user: string, args: string[], env: Record<string, string>): Promise<Ran> {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return new Promise((resolve) => {
    execFile(
      'su',
      [
        user,
        '-s',
        '/bin/sh',
        '-c',
        'cd /tmp && exec env "$@"',
        '--',
        'sh',
        ...vars,
        'NO_COLOR=1',
        process.execPath,
        BIN,
        ...args,
      ],
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const SAFETY = fileURLToPath(new URL('../fixtures/safety.ts', import.meta.url));
const BAD_VIA = fileURLToPath(new URL('../fixtures/bad-via.ts', import.meta.url));
const SEED_LAB = fileURLToPath(new URL('../../../../examples/seed-lab/consfig.ts', import.meta.url));

let dir: string;
let sshd: TestSshd;
let sshEnv: Record<string, string>;
beforeAll(async () => {
  sshd = await startSshd();
  sshEnv = { CONSFIG_TEST_SSH_PORT: String(sshd.port), CONSFIG_TEST_SSH_DIR: sshd.dir };
}, 120_000);
afterAll(async () => {
  await sshd?.stop();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'consfig-deploy-'));
});

describe('a controller killed while it writes a big file', () => {
  for (const via of ['local', 'ssh']) {
    it(`leaves neither a truncated file nor a temp file nor a process (${via})`, async () => {
      const size = 300_000_000;
      const run = startConsfig(['deploy', '-c', SAFETY, 'big.example'], {
        ...sshEnv,
        CONSFIG_TEST_DIR: dir,
        CONSFIG_TEST_VIA: via,
        CONSFIG_TEST_BIG: String(size),
      });
      const writing = () => readdirSync(dir).some((n) => n.startsWith('.big.consfig-'));
      expect(await until(writing, 60_000, 5)).toBe(true);
      run.child.kill('SIGKILL');
      await run.done;
      const mine = (l: string) => l.includes(`head -c ${size}`) || l.includes(`consfig-ssh-${run.child.pid}-`);
      expect(await until(() => !processTable().some(mine), 10_000)).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
    }, 120_000);
  }

  it('leaves only whole files, and no temp file, killed while it writes many new files itself', async () => {
    const run = startConsfig(['deploy', '-c', SAFETY, 'many.example'], {
      CONSFIG_TEST_DIR: dir,
      CONSFIG_TEST_MANY: '3000',
    });
    const many = join(dir, 'many');
    const written = () => (existsSync(many) ? readdirSync(many) : []);
    expect(await until(() => written().length >= 100, 60_000, 2)).toBe(true);
    run.child.kill('SIGKILL');
    await run.done;
    const names = written();
    expect(names.length).toBeLessThan(3000);
    expect(names.filter((n) => !/^f\d+$/.test(n))).toEqual([]);
    expect(names.filter((n) => statSync(join(many, n)).size !== 65_536)).toEqual([]);
  }, 120_000);

  it('and the next run clears the private ssh directory the killed one left', async () => {
    const run = startConsfig(['deploy', '-c', SAFETY, 'big.example'], {
      ...sshEnv,
      CONSFIG_TEST_DIR: dir,
      CONSFIG_TEST_VIA: 'ssh',
      CONSFIG_TEST_BIG: '200000000',
    });
    const left = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`consfig-ssh-${run.child.pid}-`));
    expect(await until(() => left().length > 0, 30_000, 5)).toBe(true);
    run.child.kill('SIGKILL');
    await run.done;
    const next = await consfig(['deploy', '-c', SAFETY, 'ssh.example'], sshEnv);
    expect(next.code, next.stdout).toBe(0);
    expect(left()).toEqual([]);
  }, 120_000);
});

describe('a failure', () => {
  it('says why in the words of the system, in the terminal as in --json', async () => {
    mkdirSync(join(dir, 'full'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', join(dir, 'full')]);
    try {
      const r = await consfig(['deploy', '-c', SAFETY, 'full.example'], { CONSFIG_TEST_DIR: dir });
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(
        /failed +\S+\/full\/file has content\n +cannot write \S+\/full\/file: .*No space left on device/,
      );
      expect(r.stdout).toMatch(/failed +\S+ removed\n +\S+ is a directory \(file\.removed removes files\)/);
      expect(readdirSync(join(dir, 'full'))).toEqual([]);
      const json = await consfig(['deploy', '--json', '-c', SAFETY, 'full.example'], { CONSFIG_TEST_DIR: dir });
      const failed = json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; status?: string; error?: { code: string; message: string } })
        .filter((e) => e.type === 'property:end' && e.status === 'failed');
      expect(failed.map((e) => e.error?.code)).toEqual(['CONSFIG_WRITE_FAILED', 'CONSFIG_PROPERTY_FAILED']);
      expect(failed[0]!.error!.message).toMatch(/No space left on device/);
    } finally {
      execFileSync('umount', [join(dir, 'full')]);
    }
  });
});

describe('two deployments of one machine', () => {
  it('take turns: both edits stay, and the second says whose deployment it waits for', async () => {
    const env = { CONSFIG_TEST_DIR: dir };
    const first = startConsfig(['deploy', '-c', SAFETY, 'lines.example'], {
      ...env,
      CONSFIG_TEST_SLEEP: '2',
      CONSFIG_TEST_LINE: 'first',
    });
    expect(await until(() => processTable().includes('sleep 2'))).toBe(true);
    const second = await consfig(['deploy', '-c', SAFETY, 'lines.example'], { ...env, CONSFIG_TEST_LINE: 'second' });
    expect(await first.done).toBe(0);
    expect(second.code, second.stdout).toBe(0);
    expect(second.stdout).toMatch(
      new RegExp(`lines\\.example waits \\(up to 300 s\\): local is locked by consfig pid ${first.child.pid} \\(`),
    );
    expect(readFileSync(join(dir, 'shared'), 'utf8').split('\n').sort()).toEqual(['', 'first', 'second']);
  }, 60_000);

  it('gives up after --lock-wait, clearly, changing nothing', async () => {
    const env = { CONSFIG_TEST_DIR: dir };
    const first = startConsfig(['deploy', '-c', SAFETY, 'lines.example'], {
      ...env,
      CONSFIG_TEST_SLEEP: '3',
      CONSFIG_TEST_LINE: 'first',
    });
    expect(await until(() => processTable().includes('sleep 3'))).toBe(true);
    const second = await consfig(['deploy', '--lock-wait', '0.5', '-c', SAFETY, 'lines.example'], {
      ...env,
      CONSFIG_TEST_LINE: 'second',
    });
    expect(second.code).toBe(2);
    expect(second.stdout).toMatch(
      new RegExp(
        `error +lines\\.example: local is being deployed by consfig pid ${first.child.pid} .*; ` +
          'gave up after waiting 0\\.5 s',
      ),
    );
    expect(await first.done).toBe(0);
    expect(readFileSync(join(dir, 'shared'), 'utf8')).toBe('first\n');
  }, 60_000);
});

describe('no implicit local machine', () => {
  it('refuses a host without a via, naming it, and a via that is not a chain', async () => {
    const r = await consfig(['deploy', '-c', SAFETY, 'novia.example'], { CONSFIG_TEST_DIR: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/novia\.example: novia\.example has no via: write via: 'local' to configure this machine/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    const run = await consfig(['run', '-c', SAFETY, 'novia.example', '--', 'true']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/novia\.example has no via: write via: 'local'/);
    const bad = await consfig(['deploy', '-c', BAD_VIA]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad-via\.example: via must be a chain such as 'local' or 'ssh:root@web1 sudo'.*not 42/);
  });

  it('lists hosts built by another as nested in it, and deploys them only through it', async () => {
    const hosts = await consfig(['hosts', '-c', SEED_LAB]);
    expect(hosts.stdout).toMatch(/^lxc1\.example {2}\(nested in lxctest\.example\)$/m);
    expect(hosts.stdout).toMatch(/^lxctest\.example {2}\(nested in laptop\.example\)$/m);
    expect(hosts.stdout).toMatch(/^laptop\.example {2}\(sudo\)$/m);
    const named = await consfig(['deploy', '-c', SEED_LAB, 'lxc1.example']);
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(
      /lxc1\.example has no via: it is deployed as a nested host of lxctest\.example \(deploy that\)/,
    );
    // a glob passes over it
    const glob = await consfig(['check', '-c', SEED_LAB, 'lxc1*']);
    expect(glob).toMatchObject({ code: 1, stderr: expect.stringMatching(/no host matches "lxc1\*"/) });
  });
});

describe('an ordinary user deploying through sudo', () => {
  const SUDO = fileURLToPath(new URL('../fixtures/sudo.ts', import.meta.url));

  beforeEach(() => {
    execFileSync('chmod', ['1777', dir]);
  });

  it('types the password once at the terminal, unechoed, never in a process table or the output', async () => {
    const run = onTerminal(PASSWORD_USER, `deploy -K -c ${SUDO}`, { CONSFIG_TEST_DIR: dir });
    const seen: string[] = [];
    const watcher = setInterval(() => seen.push(...processTable()), 5);
    expect(await until(() => run.out.text.includes('[sudo] password for consfig-tpass: '))).toBe(true);
    run.child.stdin.write(`${PASSWORD}\r`);
    const code = await run.done;
    clearInterval(watcher);
    expect(code, run.out.text).toBe(0);
    expect(run.out.text.split('[sudo] password for').length - 1).toBe(1);
    expect(run.out.text).not.toContain(PASSWORD);
    expect(seen.filter((l) => l.includes(PASSWORD))).toEqual([]);
    for (const n of ['a', 'b'])
      expect([statSync(join(dir, n)).uid, readFileSync(join(dir, n), 'utf8')]).toEqual([0, 'written as root\n']);
  }, 60_000);

  it('without -K is told how to give the password; with it as data, asks nobody', async () => {
    const asked = await consfigAs(PASSWORD_USER, ['deploy', '-c', SUDO], { CONSFIG_TEST_DIR: dir });
    expect(asked.code).toBe(4);
    expect(asked.stdout).toMatch(
      /sudo: a password is required \(consfig -K asks for the password on the terminal; or give it: sudo\(/,
    );
    const data = await consfigAs(PASSWORD_USER, ['deploy', '-c', SUDO], {
      CONSFIG_TEST_DIR: dir,
      CONSFIG_TEST_SUDO_DATA: '1',
      CONSFIG_TEST_DATA___user_passwd__this_sudo: PASSWORD,
    });
    expect(data.code, data.stdout).toBe(0);
    expect(statSync(join(dir, 'a')).uid).toBe(0);
  }, 60_000);

  it("deploys a config of the user's own, in a home with no packages installed, with consfig's own", async () => {
    // (as from a global install or npx: the config's directory has no @consfig/* of its own)
    const home = execFileSync('su', [PASSWORD_USER, '-s', '/bin/sh', '-c', 'echo ~']).toString().trim();
    const env = {
      CONSFIG_TEST_DIR: dir,
      CONSFIG_TEST_SUDO_DATA: '1',
      CONSFIG_TEST_DATA___user_passwd__this_sudo: PASSWORD,
    };
    for (const [name, withNodeModules] of [
      ['plain', false],
      ['with-node-modules', true],
    ] as const) {
      const own = join(home, `consfig-own-${process.pid}-${name}`);
      mkdirSync(own);
      // an empty node_modules: the config is compiled into its cache rather than loaded by hooks
      if (withNodeModules) mkdirSync(join(own, 'node_modules'));
      writeFileSync(join(own, 'consfig.ts'), readFileSync(SUDO, 'utf8'));
      execFileSync('chown', ['-R', PASSWORD_USER, own]);
      try {
        rmSync(join(dir, 'a'), { force: true });
        const ran = await consfigAs(PASSWORD_USER, ['deploy', '-c', own], env);
        expect([name, ran.code, ran.stdout + ran.stderr]).toEqual([name, 0, expect.stringMatching(/changed/)]);
        expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('written as root\n');
        expect(existsSync(join(own, 'node_modules/.cache/consfig'))).toBe(withNodeModules);
      } finally {
        rmSync(own, { recursive: true, force: true });
      }
    }
  }, 60_000);
});
