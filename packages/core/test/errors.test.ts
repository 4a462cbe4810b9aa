import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CommandFailedError,
  ConnectionError,
  defineHost,
  defprop,
  deploy,
  InvalidArgumentError,
  isConsfigError,
  isErrorOf,
  LockedError,
  toConsfigError,
} from '../src/index.js';

describe('errors across two copies of @consfig/core', () => {
  it("keeps another copy's errors as they are: codes, context and classes", async () => {
    // The built package is another copy of the module, as a config's own node_modules would be.
    const other = (await import('../dist/entry/index.mjs')) as typeof import('../src/index.js');
    expect(other.InvalidArgumentError).not.toBe(InvalidArgumentError);
    const foreign = new other.InvalidArgumentError('t.x', 'size', 'must be small');
    expect([
      isConsfigError(foreign),
      isErrorOf(foreign, InvalidArgumentError),
      foreign instanceof InvalidArgumentError,
    ]).toEqual([true, true, false]);
    expect(toConsfigError(foreign, { host: 'h.example' })).toBe(foreign);

    const prop = defprop({
      name: 't.x',
      desc: 'x',
      apply: async () => {
        throw new other.InvalidArgumentError('t.x', 'size', 'must be small');
      },
    });
    const r = await deploy(defineHost('h.example', [prop()]), 'local');
    expect(r.failures[0]?.error).toMatchObject({
      code: 'CONSFIG_INVALID_ARGUMENT',
      host: 'h.example',
      argument: 'size',
    });

    // subclasses by name, and nothing else
    const lost = new other.ConnectionLostError('gone', 'local', '');
    const locked = new other.LockedError('held', 'x', 'local');
    expect([
      isErrorOf(lost, ConnectionError),
      isErrorOf(locked, ConnectionError),
      isErrorOf(locked, LockedError),
    ]).toEqual([true, false, true]);
    expect(isErrorOf(lost, CommandFailedError)).toBe(false);
    expect([isConsfigError(new Error('plain')), isErrorOf(new Error('x'), ConnectionError)]).toEqual([false, false]);
  });
});

describe('error codes', () => {
  it('docs/errors.md lists every code the packages define', () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const sources = execFileSync('git', ['ls-files', 'packages/*/src/*.ts', 'packages/*/src/**/*.ts'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    const codes = new Set<string>();
    for (const file of sources) {
      for (const m of readFileSync(join(root, file), 'utf8').matchAll(
        /readonly code(?:: \w+)? = '(CONSFIG_[A-Z_]+)'/g,
      )) {
        codes.add(m[1]!);
      }
    }
    expect(codes.size).toBeGreaterThan(20);
    const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8');
    expect([...codes].filter((c) => !docs.includes(`\`${c}\``))).toEqual([]);
  });
});
