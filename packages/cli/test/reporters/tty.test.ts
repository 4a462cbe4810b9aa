import { describe, expect, it } from 'vitest';
import { CommandFailedError, type DeployEvent, type HostResult } from '@consfig/core';
import { TtyReporter } from '../../src/reporters/tty.js';
import { PlainReporter } from '../../src/reporters/plain.js';

function output() {
  const chunks: string[] = [];
  return { chunks, out: { write: (s: string) => void chunks.push(s), isTTY: true, columns: 80 } };
}

const result = (host: string, over: Partial<HostResult> = {}): HostResult => ({
  host,
  chain: 'local',
  status: 'ok',
  dryRun: false,
  changed: 1,
  unchanged: 0,
  failed: 0,
  durationMs: 12,
  failures: [],
  ...over,
});

const run = (host: string, status: 'changed' | 'failed'): DeployEvent[] => {
  const error = new CommandFailedError(['false'], 1, '', 'boom\n', { host, property: 'p' });
  return [
    { type: 'host:start', host, chain: 'local', dryRun: false, properties: 1 },
    {
      type: 'property:start',
      host,
      id: 1,
      parent: undefined,
      depth: 0,
      desc: `${host} prop`,
      name: 'x',
      direction: 'apply',
    },
    {
      type: 'property:end',
      host,
      id: 1,
      depth: 0,
      desc: `${host} prop`,
      name: 'x',
      status,
      leaf: true,
      durationMs: 1,
      dryRun: false,
      changes: [],
      notes: [],
      ...(status === 'failed' ? { error } : {}),
    },
  ];
};

describe('TtyReporter', () => {
  it('prints a finished host block above the live lines and redraws them', () => {
    const { chunks, out } = output();
    const r = new TtyReporter({ verbosity: 0, dryRun: false, color: false, out });
    for (const e of run('a.example', 'changed')) r.onEvent(e);
    for (const e of run('b.example', 'failed')) r.onEvent(e);
    r.onEvent({ type: 'host:end', host: 'a.example', result: result('a.example') });
    const text = chunks.join('');
    expect(text).toContain('✔ a.example (local)\n  changed   a.example prop\n');
    // b is still live: its line is drawn after a's block, with progress
    expect(text.slice(text.indexOf('✔ a.example'))).toMatch(/b\.example {2}1\/1/);
    r.onEvent({
      type: 'host:end',
      host: 'b.example',
      result: result('b.example', { status: 'failed', changed: 0, failed: 1 }),
    });
    r.end([result('a.example'), result('b.example', { status: 'failed', changed: 0, failed: 1 })]);
    const all = chunks.join('');
    expect(all).toMatch(/✖ b\.example[^\n]*\n {2}failed {4}b\.example prop\n/);
    expect(all).toContain('\n      command:   false\n      exit code: 1\n      stderr:\n        boom');
    expect(all).toMatch(/host\s+status\s+changed/);
    // cursor moves only by as many lines as were drawn
    expect(all).toMatch(/\x1b\[1A\x1b\[J/);
  });
});

describe('PlainReporter', () => {
  it('prints nothing of a host until it ends, then the whole block', () => {
    const { chunks, out } = output();
    const r = new PlainReporter({ verbosity: 0, dryRun: false, color: false, out });
    for (const e of run('a.example', 'changed')) r.onEvent(e);
    expect(chunks).toEqual([]);
    r.onEvent({ type: 'host:end', host: 'a.example', result: result('a.example') });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toBe(
      '✔ a.example (local)\n  changed   a.example prop\n  1 changed, 0 unchanged, 0 failed in 12ms\n',
    );
  });
});

describe('the plain reporter, for logs', () => {
  it('says which property a quiet host is at, every heartbeat, and stops at the end', async () => {
    const { chunks, out } = output();
    const r = new PlainReporter({ verbosity: 0, dryRun: false, color: false, out, heartbeatMs: 150 });
    const [start, propStart] = run('slow.example', 'changed');
    r.onEvent(start!);
    r.onEvent(propStart!);
    await new Promise((resolve) => setTimeout(resolve, 1400));
    r.end([result('slow.example')]);
    const beats = chunks
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('…'));
    expect(beats.length).toBeGreaterThanOrEqual(1);
    expect(beats[0]).toMatch(/^… slow\.example: still at slow\.example prop \((\d+ms|\d+\.\d+s)\)$/);
    const after = chunks.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(chunks.length).toBe(after);
  });

  it("says a host waits for another deployment's lock, not that it is still connecting", async () => {
    const { chunks, out } = output();
    const r = new PlainReporter({ verbosity: 0, dryRun: false, color: false, out, heartbeatMs: 150 });
    const [start] = run('busy.example', 'changed');
    const beats = () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('…'));
    r.onEvent(start!);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(beats().at(-1)).toMatch(/^… busy\.example: still connecting \(/);
    r.onEvent({ type: 'host:connected', host: 'busy.example', chain: 'local', durationMs: 5 });
    r.onEvent({ type: 'host:waiting', host: 'busy.example', chain: 'local', holder: 'consfig pid 1', waitMs: 300_000 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(beats().at(-1)).toMatch(/^… busy\.example: still waiting for the lock \(/);
    r.end([result('busy.example')]);
  });
});
