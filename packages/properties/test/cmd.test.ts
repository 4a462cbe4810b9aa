import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandFailedError, deployThese, defineHost, deploy } from '@consfig/core';
import { cmd, os } from '../src/index.js';

describe('cmd.single', () => {
  it('always counts as a change without unless', async () => {
    const r = await deployThese('local', cmd.single(['true']));
    expect(r.changed).toBe(1);
  });

  it('skips when unless succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consfig-cmd-'));
    const stamp = join(dir, 'stamp');
    const prop = cmd.single(['touch', stamp], { unless: ['test', '-e', stamp] });
    expect((await deployThese('local', prop)).changed).toBe(1);
    expect(existsSync(stamp)).toBe(true);
    expect((await deployThese('local', prop)).unchanged).toBe(1);
  });

  it('passes env, cwd and input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consfig-cmd-'));
    await deployThese(
      'local',
      cmd.single(['sh', '-c', 'cat > out; echo "$X" >> out'], { cwd: dir, env: { X: 'y' }, input: 'in\n' }),
    );
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('in\ny\n');
  });

  it('fails with the command, exit code and stderr', async () => {
    const r = await deployThese('local', cmd.single(['sh', '-c', 'echo nope >&2; exit 3']));
    const error = r.failures[0]!.error as CommandFailedError;
    expect(error).toBeInstanceOf(CommandFailedError);
    expect([error.exitCode, error.stderr, error.property]).toEqual([
      3,
      'nope\n',
      "Command sh -c 'echo nope >&2; exit 3'",
    ]);
  });
});

describe('os', () => {
  it('declares the OS as a hostattr', () => {
    const host = defineHost('deb.example', [os.debianStable('bookworm', 'amd64')]);
    expect(host.attrs.entries().find(([k]) => k === 'os')?.[1]).toEqual([
      { family: 'linux', distribution: 'debian', release: 'stable', suite: 'bookworm', arch: 'amd64' },
    ]);
    expect(
      defineHost('t.example', [os.debianTesting()])
        .attrs.entries()
        .find(([k]) => k === 'os')?.[1],
    ).toMatchObject([{ release: 'testing', arch: 'amd64' }]);
  });

  it('rejects a bad suite', async () => {
    const r = await deploy(defineHost('bad.example', [os.debianStable('Bookworm!')]), 'local');
    expect(r.failures[0]!.error.message).toMatch(/argument 'suite'/);
  });
});
