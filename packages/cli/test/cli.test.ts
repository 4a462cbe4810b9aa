import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/basic.ts', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'consfig-cli-'));
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function consfig(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, CONSFIG_TEST_DIR: dir, NO_COLOR: '1', ...env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('consfig deploy', () => {
  it('applies, then reports nothing to change', async () => {
    const first = await consfig(['deploy', '-c', FIXTURE, 'files.example']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/✔ files\.example \(local\)/);
    expect(first.stdout).toMatch(/changed\s+\S+\/motd has content/);
    expect(readFileSync(join(dir, 'motd'), 'utf8')).toBe('Hello from consfig\nloaded from motd.ts\n');
    const second = await consfig(['deploy', '-c', FIXTURE, 'files.example']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/0 changed, 3 unchanged, 0 failed/);
  });

  it('exits 2 on a failed property, showing command, exit code and stderr verbatim, no stack', async () => {
    const r = await consfig(['deploy', '-c', FIXTURE, 'failing.example']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/failed\s+Command sh -c/);
    expect(r.stdout).toMatch(/exit code: 100/);
    expect(r.stdout).toMatch(/E: Unable to locate package nosuchpkg/);
    expect(r.stdout).not.toMatch(/\n\s+at /);
    // seq goes on after the failure
    expect(existsSync(join(dir, 'after'))).toBe(true);
    const vv = await consfig(['deploy', '-vv', '-c', FIXTURE, 'failing.example']);
    expect(vv.stdout).toMatch(/\$ sh -c/);
    expect(vv.stdout).toMatch(/\| +at /);
  });

  it('exits 4 for an unreachable host, 6 with a failure as well', async () => {
    const down = await consfig(['deploy', '-c', FIXTURE, 'down.example']);
    expect(down.code).toBe(4);
    expect(down.stdout).toMatch(/unreachable/);
    expect(down.stdout).toMatch(/refused:nowhere.*Connection refused/);
    const both = await consfig(['deploy', '-c', FIXTURE, 'down.example', 'failing.example']);
    expect(both.code).toBe(6);
    expect(both.stdout).toMatch(/host\s+status\s+changed\s+unchanged\s+failed\s+time/);
  });

  it('fails a host with a bad argument clearly, before connecting', async () => {
    const r = await consfig(['deploy', '-c', FIXTURE, 'bad-arg.example']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/bad-arg\.example: invalid argument 'path' to file\.hasContent: must be an absolute path/);
  });

  it('keeps each host block whole when hosts run in parallel', async () => {
    const r = await consfig(['deploy', '-c', FIXTURE, '*.parallel', '--parallel', '4']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    for (const n of ['p1', 'p2', 'p3', 'p4']) {
      const start = lines.findIndex((l) => l.startsWith(`✔ ${n}.parallel`));
      expect(start).toBeGreaterThanOrEqual(0);
      const block = lines.slice(start + 1, start + 6);
      expect(block.slice(0, 4).every((l) => l.startsWith('  changed'))).toBe(true);
      expect(
        block
          .slice(0, 4)
          .filter((l) => l.includes('has content'))
          .every((l) => l.includes(`/${n}-`)),
      ).toBe(true);
      expect(block[4]).toMatch(/4 changed/);
    }
  });

  it('emits NDJSON events with --json', async () => {
    const r = await consfig(['deploy', '--json', '-c', FIXTURE, 'files.example', 'failing.example']);
    expect(r.code).toBe(2);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // the envelope of docs/json.md on every line
    expect(events.every((e) => e.v === 1 && typeof e.type === 'string' && typeof e.time === 'string')).toBe(true);
    const types = new Set(events.map((e) => e.type));
    for (const t of [
      'host:start',
      'host:connected',
      'property:start',
      'property:end',
      'command',
      'host:end',
      'recap',
    ]) {
      expect(types.has(t)).toBe(true);
    }
    const failure = events.find((e) => e.type === 'property:end' && e.status === 'failed') as {
      error: Record<string, unknown>;
    };
    expect(failure.error).toMatchObject({ code: 'CONSFIG_COMMAND_FAILED', exitCode: 100, host: 'failing.example' });
    expect(events.at(-1)).toMatchObject({ type: 'recap' });
  });
});

describe('consfig check', () => {
  it('changes nothing and shows diffs; --exit-code exits 3 when changes are pending', async () => {
    const r = await consfig(['check', '-c', FIXTURE, 'files.example']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/would fix\s+\S+\/motd has content/);
    expect(r.stdout).toMatch(/\+Hello from consfig/);
    expect(existsSync(join(dir, 'motd'))).toBe(false);
    expect((await consfig(['check', '--exit-code', '-c', FIXTURE, 'files.example'])).code).toBe(3);
    await consfig(['deploy', '-c', FIXTURE, 'files.example']);
    expect((await consfig(['check', '--exit-code', '-c', FIXTURE, 'files.example'])).code).toBe(0);
  });
});

describe('consfig hosts, run, usage', () => {
  it('lists hosts with chains and hostattrs', async () => {
    const r = await consfig(['hosts', '-c', FIXTURE, 'files.example', 'down.example']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/files\.example {2}\(local\)\n {2}hostname: files\.example\n {2}os: \{"family":"linux"/);
    expect(r.stdout).toMatch(/down\.example {2}\(refused:nowhere\)/);
    const json = await consfig(['hosts', '--json', '-c', FIXTURE, 'files.example']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      v: 1,
      type: 'host',
      host: 'files.example',
      hostattrs: { hostname: ['files.example'] },
    });
  });

  it('runs a command on a host', async () => {
    const r = await consfig(['run', '-c', FIXTURE, 'files.example', '--', 'sh', '-c', 'echo "$0 hi"; exit 5', "it's"]);
    expect(r).toMatchObject({ code: 5, stdout: "it's hi\n" });
    const down = await consfig(['run', '-c', FIXTURE, 'down.example', '--', 'true']);
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/Connection refused/);
  });

  it('explains usage errors and exits 1', async () => {
    expect(await consfig(['frobnicate'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/unknown command "frobnicate"/),
    });
    const nomatch = await consfig(['deploy', '-c', FIXTURE, 'nohost*']);
    expect(nomatch.code).toBe(1);
    expect(nomatch.stderr).toMatch(/no host matches "nohost\*" \(hosts: files\.example, /);
    expect((await consfig(['deploy', '--parallel', '0', '-c', FIXTURE])).stderr).toMatch(/--parallel needs/);
    expect((await consfig(['--help'])).stdout).toMatch(/Exit codes/);
  });

  it('reports a broken config without a stack trace', async () => {
    const r = await consfig(['deploy', '-c', fileURLToPath(new URL('./fixtures/broken.ts', import.meta.url))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^consfig: cannot load .*broken\.ts/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const missing = await consfig(['deploy', '-c', join(dir, 'nope.ts')]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/does not exist/) });
    // with --json, in the stream too
    const json = await consfig([
      'deploy',
      '--json',
      '-c',
      fileURLToPath(new URL('./fixtures/broken.ts', import.meta.url)),
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      v: 1,
      type: 'error',
      error: { code: 'CONSFIG_CONFIG_INVALID', message: expect.stringMatching(/^cannot load .*broken\.ts/) },
    });
  });

  it('names the property or export a config misspelt, and what it most likely meant', async () => {
    const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
    const call = await consfig(['deploy', '-c', fixture('misspelt-property.ts')]);
    expect(call.code).toBe(1);
    expect(call.stderr).toBe(
      `consfig: cannot load ${fixture('misspelt-property.ts')}: file.hasContnet is not a function ` +
        `(did you mean file.hasContent?) (at ${fixture('misspelt-property.ts')}:6)\n`,
    );
    const imported = await consfig(['deploy', '-c', fixture('misspelt-import.ts')]);
    expect(imported.code).toBe(1);
    // No place in consfig's own code is named: the import is the config's.
    expect(imported.stderr).toBe(
      `consfig: cannot load ${fixture('misspelt-import.ts')}: The requested module '@consfig/properties' ` +
        "does not provide an export named 'fiel' (did you mean file?)\n",
    );
  });

  it('takes per-host values and secrets from YAML, and names the file, line and key of a bad one', async () => {
    const vars = fileURLToPath(new URL('./fixtures/vars.ts', import.meta.url));
    mkdirSync(join(dir, 'inventory/group_vars'), { recursive: true });
    mkdirSync(join(dir, 'inventory/host_vars'));
    writeFileSync(join(dir, 'inventory/group_vars/all.yml'), 'motd: hello\nport: 22\n');
    writeFileSync(join(dir, 'inventory/group_vars/web.yml'), 'motd: web\n');
    writeFileSync(join(dir, 'secrets.yml'), 'vars.example:\n  db.conf: "password=s3cret\\n"\n');
    const ok = await consfig(['deploy', '-c', vars]);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(join(dir, 'motd'), 'utf8')).toBe('web on 22\n');
    expect(readFileSync(join(dir, 'db.conf'), 'utf8')).toBe('password=s3cret\n');

    writeFileSync(join(dir, 'inventory/host_vars/vars.example.yml'), '# this host\nport: "2222"\n');
    const bad = await consfig(['deploy', '-c', vars]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^consfig: .*inventory\/host_vars\/vars\.example\.yml:2: port: Expected number, received string\n$/,
    );
    writeFileSync(join(dir, 'secrets.yml'), 'vars.example:\n  db.conf: [1]\n');
    writeFileSync(join(dir, 'inventory/host_vars/vars.example.yml'), 'port: 2222\n');
    const secret = await consfig(['deploy', '-c', vars]);
    expect(secret.code).toBe(2);
    expect(secret.stdout).toMatch(/secrets\.yml:2: vars\.example\.db\.conf: an item is text, or \{ base64: \.\.\. \}/);
  });
});

describe('interrupts', () => {
  it('stops on SIGINT, leaving no process behind', async () => {
    const child = spawn(process.execPath, [BIN, 'deploy', '-c', FIXTURE, 'slow.example'], {
      env: { ...process.env, CONSFIG_TEST_DIR: dir, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(130);
    expect(out).toMatch(/deployment cancelled|failed/);
    const ps = await new Promise<string>((r) => execFile('ps', ['-eo', 'args'], (_e, o) => r(o)));
    expect(ps.split('\n').filter((l) => l === 'sleep 30')).toEqual([]);
  });
});
