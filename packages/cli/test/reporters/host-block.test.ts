import { describe, expect, it } from 'vitest';
import { PropertyFailedError, WriteFailedError, type DeployEvent, type HostResult } from '@consfig/core';
import { PlainReporter } from '../../src/reporters/plain.js';
import { TtyReporter } from '../../src/reporters/tty.js';

function output() {
  const chunks: string[] = [];
  return { chunks, out: { write: (s: string | Uint8Array) => void chunks.push(String(s)), isTTY: true, columns: 100 } };
}

const result = (host: string, over: Partial<HostResult> = {}): HostResult => ({
  host,
  chain: 'local',
  status: 'ok',
  dryRun: true,
  changed: 1,
  unchanged: 0,
  failed: 0,
  durationMs: 5,
  failures: [],
  ...over,
});

function end(
  host: string,
  id: number,
  depth: number,
  desc: string,
  extra: Partial<Extract<DeployEvent, { type: 'property:end' }>> = {},
): DeployEvent {
  return {
    type: 'property:end',
    host,
    id,
    depth,
    desc,
    name: 'x',
    status: 'changed',
    leaf: true,
    durationMs: 1,
    dryRun: true,
    changes: [],
    notes: [],
    ...extra,
  };
}

/** A parent whose second property deploys a nested host with one drifted file. */
function nestedRun(): DeployEvent[] {
  const parent = 'builder.example';
  const child = 'guest.example';
  return [
    { type: 'host:start', host: parent, chain: 'local', dryRun: true, properties: 2 },
    {
      type: 'property:start',
      host: parent,
      id: 1,
      parent: undefined,
      depth: 0,
      desc: '/srv/guest built',
      name: 'a',
      direction: 'apply',
    },
    end(parent, 1, 0, '/srv/guest built', { status: 'unchanged' }),
    {
      type: 'property:start',
      host: parent,
      id: 2,
      parent: undefined,
      depth: 0,
      desc: 'guest deployed in /srv/guest',
      name: 'b',
      direction: 'apply',
    },
    {
      type: 'host:start',
      host: child,
      chain: 'chroot:/srv/guest',
      dryRun: true,
      properties: 1,
      parent: { host: parent, property: 2 },
    },
    {
      type: 'property:start',
      host: child,
      id: 1,
      parent: undefined,
      depth: 0,
      desc: '/etc/motd has content',
      name: 'c',
      direction: 'apply',
    },
    end(child, 1, 0, '/etc/motd has content', {
      changes: [{ path: '/etc/motd', before: 'drifted\n', after: 'hello\n' }],
    }),
    {
      type: 'host:end',
      host: child,
      result: result(child, { chain: 'chroot:/srv/guest' }),
      parent: { host: parent, property: 2 },
    },
    end(parent, 2, 0, 'guest deployed in /srv/guest'),
    { type: 'host:end', host: parent, result: result(parent, { unchanged: 1 }) },
  ];
}

describe('host blocks', () => {
  for (const [name, Reporter] of [
    ['plain', PlainReporter],
    ['tty', TtyReporter],
  ] as const) {
    it(`${name}: a nested host's block shows under the property that deployed it`, () => {
      const { chunks, out } = output();
      const r = new Reporter({ verbosity: 0, dryRun: true, color: false, out });
      for (const e of nestedRun()) r.onEvent(e);
      r.end([result('builder.example', { unchanged: 1 })]);
      const text = chunks.join('');
      expect(text).not.toMatch(/^✔ guest\.example/m);
      expect(text).toContain(
        [
          '✔ builder.example (local)',
          '  would fix guest deployed in /srv/guest',
          '      ✔ guest.example (chroot:/srv/guest)',
          '        would fix /etc/motd has content',
          '            --- /etc/motd',
        ].join('\n'),
      );
      expect(text).toMatch(/ {12}-drifted\n {12}\+hello\n/);
    });

    it(`${name}: every failure says why under the property, and a lock wait is said at once`, () => {
      const { chunks, out } = output();
      const r = new Reporter({ verbosity: 0, dryRun: false, color: false, out });
      r.onEvent({ type: 'host:start', host: 'w.example', chain: 'local', dryRun: false, properties: 2 });
      r.onEvent({
        type: 'host:waiting',
        host: 'w.example',
        chain: 'local',
        holder: 'consfig pid 7 (root@laptop, run 1)',
        waitMs: 300_000,
      });
      expect(chunks.join('')).toContain(
        '⧗ w.example waits (up to 300 s): local is locked by consfig pid 7 (root@laptop, run 1)\n',
      );
      const write = new WriteFailedError('/srv/f', 'cat: write error: No space left on device\n');
      const fail = new PropertyFailedError('/srv is a directory (file.removed removes files)');
      r.onEvent({
        type: 'property:start',
        host: 'w.example',
        id: 1,
        parent: undefined,
        depth: 0,
        desc: '/srv/f has content',
        name: 'a',
        direction: 'apply',
      });
      r.onEvent(end('w.example', 1, 0, '/srv/f has content', { status: 'failed', dryRun: false, error: write }));
      r.onEvent({
        type: 'property:start',
        host: 'w.example',
        id: 2,
        parent: undefined,
        depth: 0,
        desc: '/srv removed',
        name: 'b',
        direction: 'apply',
      });
      r.onEvent(end('w.example', 2, 0, '/srv removed', { status: 'failed', dryRun: false, error: fail }));
      r.onEvent({
        type: 'host:end',
        host: 'w.example',
        result: result('w.example', { status: 'failed', dryRun: false, changed: 0, failed: 2 }),
      });
      const text = chunks.join('');
      expect(text).toContain(
        '  failed    /srv/f has content\n      cannot write /srv/f: cat: write error: No space left on device\n',
      );
      expect(text).toContain('  failed    /srv removed\n      /srv is a directory (file.removed removes files)\n');
      // each said once, under its line
      expect(text.match(/No space left/g)).toHaveLength(1);
    });

    it(`${name}: a failure no property line carried (a combinator's own) gets a line of its own`, () => {
      const { chunks, out } = output();
      const r = new Reporter({ verbosity: 0, dryRun: false, color: false, out });
      const refused = new PropertyFailedError('sudo: a password is required', {
        host: 'u.example',
        property: 'As nobody',
      });
      r.onEvent({ type: 'host:start', host: 'u.example', chain: 'ssh:web1', dryRun: false, properties: 1 });
      r.onEvent({
        type: 'host:end',
        host: 'u.example',
        result: result('u.example', {
          status: 'failed',
          chain: 'ssh:web1',
          dryRun: false,
          changed: 0,
          failed: 1,
          failures: [{ kind: 'property', property: 'As nobody', error: refused }],
        }),
      });
      expect(chunks.join('')).toContain(
        '✖ u.example (ssh:web1)\n' +
          '  error    u.example: As nobody: sudo: a password is required\n' +
          '  0 changed, 0 unchanged, 1 failed',
      );
    });
  }

  it('says a secret would change without showing it', () => {
    const { chunks, out } = output();
    const r = new PlainReporter({ verbosity: 0, dryRun: true, color: false, out });
    r.onEvent({ type: 'host:start', host: 's.example', chain: 'local', dryRun: true, properties: 1 });
    r.onEvent({
      type: 'property:start',
      host: 's.example',
      id: 1,
      parent: undefined,
      depth: 0,
      desc: '/etc/key has secret content',
      name: 'a',
      direction: 'apply',
    });
    r.onEvent(
      end('s.example', 1, 0, '/etc/key has secret content', {
        changes: [{ path: '/etc/key', before: null, after: null, kind: 'secret' }],
      }),
    );
    r.onEvent({ type: 'host:end', host: 's.example', result: result('s.example') });
    expect(chunks.join('')).toContain(
      '  would fix /etc/key has secret content\n      /etc/key: secret content would change (not shown)\n',
    );
  });

  it('says in one line how type, mode, owner or a link would change', () => {
    const { chunks, out } = output();
    const r = new PlainReporter({ verbosity: 0, dryRun: true, color: false, out });
    r.onEvent({ type: 'host:start', host: 'm.example', chain: 'local', dryRun: true, properties: 1 });
    r.onEvent({
      type: 'property:start',
      host: 'm.example',
      id: 1,
      parent: undefined,
      depth: 0,
      desc: '/srv is a directory',
      name: 'a',
      direction: 'apply',
    });
    const change = {
      path: '/srv',
      before: 'directory, mode 0700, owner root:root',
      after: 'directory, mode 0755',
      kind: 'metadata' as const,
    };
    r.onEvent(end('m.example', 1, 0, '/srv is a directory', { changes: [change] }));
    r.onEvent({ type: 'host:end', host: 'm.example', result: result('m.example') });
    expect(chunks.join('')).toContain(
      '  would fix /srv is a directory\n      /srv: directory, mode 0700, owner root:root → directory, mode 0755\n',
    );
  });
});
