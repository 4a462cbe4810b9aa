import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  asUser,
  attrs,
  CommandFailedError,
  defineHost,
  defprop,
  deploy,
  deployMany,
  deployThese,
  desc,
  eseq,
  hostattr,
  InapplicablePropertyError,
  InvalidArgumentError,
  InvalidHostError,
  onChange,
  openConnection,
  requireOs,
  seq,
  unapply,
  withFlagfile,
  type DeployEvent,
  type HostOptions,
  type Propapp,
} from '../../src/public/property.js';
import { recorder, type Log } from '../support/recorder.js';

/** A host deployed to this machine. */
const localHost = (name: string, props: unknown[], options: HostOptions = {}) =>
  defineHost(name, props, { via: 'local', ...options });

function setup() {
  const log: Log = { entries: [] };
  return { log, step: recorder(log) };
}

describe('ordering and failure semantics', () => {
  it('applies in order and goes on after a failure at the top level', async () => {
    const { log, step } = setup();
    const host = localHost('a.example', [step('1'), step('2', { fail: true }), step('3')]);
    const result = await deploy(host);
    expect(log.entries).toEqual(['check 1', 'apply 1', 'check 2', 'apply 2', 'check 3', 'apply 3']);
    expect(result).toMatchObject({ status: 'failed', changed: 2, failed: 1, unchanged: 0 });
    expect(result.failures.map((f) => [f.kind, f.property])).toEqual([['property', 'step 2']]);
    const error = result.failures[0]!.error as CommandFailedError;
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({ host: 'a.example', property: 'step 2', exitCode: 7, stderr: 'broke 2\n' });
    expect(error.argv).toEqual(['sh', '-c', 'echo "broke 2" >&2; exit 7']);
  });

  it('eseq stops at the first failure; the failure is reported once', async () => {
    const { log, step } = setup();
    const events: DeployEvent[] = [];
    const host = localHost('b.example', [
      desc('group', eseq(step('1'), step('2', { fail: true }), step('3'))),
      step('4'),
    ]);
    const result = await deploy(host, undefined, { onEvent: (e) => events.push(e) });
    expect(log.entries).toEqual(['check 1', 'apply 1', 'check 2', 'apply 2', 'check 4', 'apply 4']);
    expect(result.failed).toBe(1);
    const ends = events.filter((e) => e.type === 'property:end');
    expect(ends.map((e) => [e.desc, e.status, 'error' in e && e.error !== undefined])).toEqual([
      ['step 1', 'changed', false],
      ['step 2', 'failed', true],
      ['group', 'failed', false],
      ['step 4', 'changed', false],
    ]);
  });

  it('skips apply when the check says it is applied', async () => {
    const { log, step } = setup();
    const result = await deploy(localHost('c.example', [step('1', { applied: true })]));
    expect(log.entries).toEqual(['check 1']);
    expect(result).toMatchObject({ status: 'ok', changed: 0, unchanged: 1 });
  });

  it('unapplies a sequence in reverse order', async () => {
    const { log, step } = setup();
    await deploy(localHost('d.example', [unapply(eseq(step('1', { applied: true }), step('2', { applied: true })))]));
    expect(log.entries).toEqual(['check 2', 'unapply 2', 'check 1', 'unapply 1']);
  });

  it('unapply does nothing to a property that is not applied', async () => {
    const { log, step } = setup();
    const result = await deploy(localHost('d2.example', [unapply(step('1', { applied: false }))]));
    expect(log.entries).toEqual(['check 1']);
    expect(result.unchanged).toBe(1);
  });

  it('onChange applies its body only after a change', async () => {
    const { log, step } = setup();
    const result = await deploy(
      localHost('e.example', [
        onChange(step('1', { result: 'unchanged' }), step('not run')),
        onChange(step('2'), step('then a'), step('then b')),
      ]),
    );
    // The body not run counts as unchanged: every run's counts add up to the same total.
    expect([result.changed, result.unchanged]).toEqual([3, 2]);
    expect(log.entries).toEqual([
      'check 1',
      'apply 1',
      'check 2',
      'apply 2',
      'check then a',
      'apply then a',
      'check then b',
      'apply then b',
    ]);
  });

  it("a property whose unapply is 'nothing' is unchanged by unapply, in a dry run too, without its check", async () => {
    const log: string[] = [];
    const kept = defprop({
      name: 'test.kept',
      desc: 'kept',
      check: async () => (log.push('check'), true),
      apply: async () => 'changed',
      unapply: 'nothing',
    });
    for (const dryRun of [true, false]) {
      const result = await deploy(localHost('k.example', [unapply(kept())]), undefined, { dryRun });
      expect([result.status, result.changed, result.unchanged]).toEqual(['ok', 0, 1]);
    }
    expect(log).toEqual([]);
  });

  it('in a dry run, what is missing but may be made by the properties before is a change, not a failure', async () => {
    const made = defprop({
      name: 'test.made',
      desc: (path: string) => `${path} made`,
      check: async (_ctx, path) => ({ applied: false, changes: [{ path, before: 'absent', after: 'made' }] }),
      apply: async () => 'changed',
    });
    const needs = defprop({
      name: 'test.needs',
      desc: 'needs /srv/x',
      check: async (ctx) => ctx.missing('no /srv/x', (p) => p.startsWith('/srv/')),
      apply: async () => 'changed',
    });
    const run = async (dryRun: boolean, ...props: Propapp[]) => {
      const events: DeployEvent[] = [];
      const r = await deploy(localHost('m.example', props), undefined, { dryRun, onEvent: (e) => events.push(e) });
      const end = events.findLast((e) => e.type === 'property:end');
      return [r.status, end?.type === 'property:end' ? [end.status, end.notes] : []];
    };
    expect(await run(true, made('/srv/x'), needs())).toEqual([
      'ok',
      ['changed', ['no /srv/x: the changes before it may make it']],
    ]);
    // Nothing before it touches /srv, or nothing changes before it: it fails, as a deploy would.
    expect((await run(true, made('/etc/y'), needs()))[0]).toBe('failed');
    expect((await run(true, needs()))[0]).toBe('failed');
    expect((await run(false, needs()))[0]).toBe('failed');
  });

  it('a property without unapply fails to unapply with a clear error', async () => {
    const once = defprop({ name: 'test.once', desc: 'once', apply: async () => 'changed' });
    const result = await deploy(localHost('f.example', [unapply(once())]));
    expect(result.failures[0]!.error.code).toBe('CONSFIG_CANNOT_UNAPPLY');
  });

  it('a thrown plain Error becomes a failed property, naming host and property', async () => {
    const boom = defprop({
      name: 'test.boom',
      desc: 'boom',
      apply: async () => {
        throw new Error('kaput');
      },
    });
    const result = await deploy(localHost('g.example', [boom()]));
    expect(result.failures[0]!.error).toMatchObject({
      code: 'CONSFIG_PROPERTY_FAILED',
      host: 'g.example',
      property: 'boom',
    });
    expect(result.failures[0]!.error.message).toBe('kaput');
  });
});

describe('dry runs', () => {
  it('runs checks only and reports what would change', async () => {
    const { log, step } = setup();
    const result = await deploy(
      localHost('h.example', [step('1'), step('2', { applied: true }), onChange(step('3'), step('4'))]),
      undefined,
      {
        dryRun: true,
      },
    );
    expect(log.entries).toEqual(['check 1', 'check 2', 'check 3', 'check 4']);
    expect(result).toMatchObject({ dryRun: true, changed: 3, unchanged: 1, status: 'ok' });
  });
});

describe('hostattrs', () => {
  const role = hostattr('test.role', z.string());

  it('are computed once, purely, before connecting, newest first', async () => {
    let runs = 0;
    const tag = defprop({
      name: 'test.tag',
      desc: (r: string) => `role ${r}`,
      args: z.tuple([z.string()]),
      hostattrs: (h, r) => {
        runs++;
        h.push(role, r);
      },
    });
    const host = localHost('i.example', [tag('web'), tag('db')]);
    expect(runs).toBe(0);
    expect(host.attrs.get(role)).toEqual(['db', 'web']);
    expect(host.attrs.first(attrs.hostname)).toBe('i.example');
    await deploy(host);
    expect(runs).toBe(2);
  });

  it('can be read across hosts and from the parent', () => {
    const ips = hostattr('test.veth-ip', z.object({ user: z.string(), ip: z.string() }));
    const declareIp = defprop({
      name: 'test.ip',
      desc: 'ip',
      args: z.tuple([z.string(), z.string()]),
      hostattrs: (h, user, ip) => h.push(ips, { user, ip }),
    });
    const container = localHost('c1.example', [declareIp('alice', 'fe80::2')]);
    const collected: unknown[] = [];
    const routes = defprop({
      name: 'test.routes',
      desc: 'routes',
      hostattrs: (h) => {
        collected.push(...h.of(container).get(ips));
      },
    });
    const vmhost = localHost('vm.example', [routes(), declareIp('bob', 'fe80::3')]);
    const child = localHost('inner.example', [], { parent: vmhost });
    void vmhost.attrs;
    expect(collected).toEqual([{ user: 'alice', ip: 'fe80::2' }]);
    expect(child.attrs.parent?.get(ips)).toEqual([{ user: 'bob', ip: 'fe80::3' }]);
  });

  it('a property refusing the host fails before anything is changed', async () => {
    const { log, step } = setup();
    const debianOnly = defprop({
      name: 'test.debianOnly',
      desc: 'needs debian',
      hostattrs: (h) => void requireOs(h, 'test.debianOnly', { distribution: 'debian' }),
      apply: async () => 'changed',
    });
    const result = await deploy(localHost('j.example', [step('1'), debianOnly()]));
    expect(log.entries).toEqual([]);
    expect(result.status).toBe('failed');
    expect(result.failures[0]!.kind).toBe('host');
    expect(result.failures[0]!.error).toBeInstanceOf(InapplicablePropertyError);
    expect(result.failures[0]!.error.message).toMatch(/needs debian.*declares no OS/);
    expect(result.failures[0]!.error.host).toBe('j.example');
  });

  it('detects hosts whose hostattrs depend on each other', () => {
    const holder: { other?: ReturnType<typeof defineHost> } = {};
    const reads = defprop({ name: 'test.reads', desc: 'reads', hostattrs: (h) => void h.of(holder.other!) });
    const a = localHost('x.example', [reads()]);
    holder.other = a;
    expect(() => a.attrs).toThrow(InvalidHostError);
  });
});

describe('bad definitions', () => {
  it('rejects bad host names and non-properties with clear messages', () => {
    expect(() => defineHost('bad host', [])).toThrow(/not a valid host name/);
    expect(() => defineHost('-x', [])).toThrow(InvalidHostError);
    const notCalled = defprop({ name: 'test.x', desc: 'x', apply: async () => 'changed' });
    expect(() => defineHost('k.example', [notCalled as never])).toThrow(/element 1 .*test\.x.*parentheses/);
    expect(() => defineHost('k.example', [{ not: 'a prop' } as never])).toThrow(/not a property application/);
  });

  it('reports a bad argument with host, property and argument name', async () => {
    const p = defprop({
      name: 'test.path',
      desc: (path: string) => path,
      args: z.tuple([z.string().startsWith('/', 'must be absolute')]),
      argNames: ['path'],
      apply: async () => 'changed',
    });
    const host = localHost('l.example', [p('relative' as string)]);
    const error = (() => {
      try {
        void host.attrs;
      } catch (e) {
        return e;
      }
    })() as InvalidArgumentError;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ host: 'l.example', property: 'test.path', argument: 'path' });
    expect(error.message).toBe("invalid argument 'path' to test.path: must be absolute");
    const result = await deploy(host);
    expect(result.status).toBe('failed');
  });

  it('says how many arguments a property takes where it is given more, naming them', () => {
    const two = defprop({
      name: 'test.owned',
      desc: (path: string, owner: string) => `${path} ${owner}`,
      args: z.tuple([z.string(), z.string()]),
      argNames: ['path', 'ownership'],
      apply: async () => 'changed',
    });
    const none = defprop({ name: 'test.none', desc: 'none', args: z.tuple([]), apply: async () => 'changed' });
    const rest = defprop({
      name: 'test.rest',
      desc: (...names: string[]) => names.join(' '),
      args: z.tuple([z.string()]).rest(z.string()),
      argNames: ['names'],
      apply: async () => 'changed',
    });
    const invalid = (app: ReturnType<typeof two>) => app.invalid as InvalidArgumentError | undefined;
    expect(invalid(two('/a', 'alice', 'web' as never))).toMatchObject({
      argument: 'arguments',
      message: "invalid argument 'arguments' to test.owned: takes at most 2 arguments (path, ownership), given 3",
    });
    expect(invalid(none(1 as never))?.message).toBe(
      "invalid argument 'arguments' to test.none: takes no arguments, given 1",
    );
    expect(invalid(rest('a', 'b', 'c', 'd'))).toBeUndefined();
    expect(invalid(two('/a', 'alice'))).toBeUndefined();
  });
});

describe('deployThese, deployMany, events', () => {
  it('deployThese applies just the given properties', async () => {
    const { log, step } = setup();
    const result = await deployThese('local', step('only'));
    expect(log.entries).toEqual(['check only', 'apply only']);
    expect(result).toMatchObject({ host: 'localhost', chain: 'local', changed: 1 });
  });

  it('deployMany runs hosts in parallel and emits typed events per host', async () => {
    const { step } = setup();
    const events: DeployEvent[] = [];
    const hosts = ['m1', 'm2', 'm3'].map((n) => localHost(`${n}.example`, [step(n), seq(step(`${n}b`))]));
    const results = await deployMany(hosts, { parallel: 3, onEvent: (e) => events.push(e) });
    expect(results.map((r) => [r.host, r.status, r.changed])).toEqual([
      ['m1.example', 'ok', 2],
      ['m2.example', 'ok', 2],
      ['m3.example', 'ok', 2],
    ]);
    for (const host of ['m1.example', 'm2.example', 'm3.example']) {
      const types = events.filter((e) => e.host === host).map((e) => e.type);
      expect(types[0]).toBe('host:start');
      expect(types.at(-1)).toBe('host:end');
      expect(types.filter((t) => t === 'property:end')).toHaveLength(2);
    }
    expect(events.some((e) => e.type === 'command')).toBe(false);
  });

  it('deployMany runs many hosts at once under one signal without a listener warning', async () => {
    const { step } = setup();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const hosts = Array.from({ length: 14 }, (_, i) => localHost(`w${i}.example`, [step(`w${i}`)]));
      const controller = new AbortController();
      const results = await deployMany(hosts, { parallel: 14, signal: controller.signal });
      expect(results.map((r) => r.status)).toEqual(hosts.map(() => 'ok'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('an unreachable host is reported as such and the others go on', async () => {
    const { step } = setup();
    const down = { kind: 'down', describe: () => 'down:hop', wrap: () => ['sh', '-c', 'echo refused >&2; exit 255'] };
    const results = await deployMany([
      localHost('up.example', [step('1')]),
      localHost('down.example', [step('2')], { via: [down] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'unreachable']);
    expect(results[0]!.failures).toEqual([]);
    expect(results[1]!.failures.map((f) => f.kind)).toEqual(['connection']);
    expect(results[1]!.failures[0]!.error.message).toMatch(/down:hop: refused/);
  });
});

describe('combinators on the real target', () => {
  it('withFlagfile applies once, then counts as applied', async () => {
    const { log, step } = setup();
    const flag = `/tmp/consfig-flag-${process.pid}-${Date.now()}`;
    const host = localHost('n.example', [withFlagfile(flag, step('1'))]);
    await deploy(host);
    // The property under it counts as it was, unchecked.
    expect(await deploy(host)).toMatchObject({ changed: 0, unchanged: 1 });
    expect(log.entries).toEqual(['check 1', 'apply 1']);
    await deploy(localHost('n.example', [unapply(withFlagfile(flag, step('1', { applied: true })))]));
    expect(log.entries.at(-1)).toBe('unapply 1');
  });

  it("asUser's hops come from @consfig/connections, named when absent; a combinator's failure shown once", async () => {
    const x = defprop({ name: 'test.x', desc: 'x', apply: async () => 'unchanged' });
    const unknown =
      /^unknown connection hop "runuser:nobody" \(known: local\b.*did you import @consfig\/connections\?\)$/;
    // at the top, where the host's seq goes on past failures
    const top = await deploy(localHost('o.example', [asUser('nobody', x()), x()]));
    expect(top.failures.map((f) => [f.property, f.error.message])).toEqual([
      ['As nobody', expect.stringMatching(unknown)],
    ]);
    expect([top.status, top.failed, top.unchanged]).toEqual(['failed', 1, 1]);
    // under a property line, which carries it
    const under = await deploy(localHost('o.example', [desc('as nobody', asUser('nobody', x()))]));
    expect(under.failures.map((f) => [f.property, f.error.message])).toEqual([
      ['as nobody', expect.stringMatching(unknown)],
    ]);
  });
});

describe('no implicit local machine', () => {
  it('fails a host without a via before connecting, saying how to name this machine', async () => {
    const { log, step } = setup();
    const result = await deploy(defineHost('web1.example', [step('1')]));
    expect(result.status).toBe('failed');
    expect(result.failures[0]!.error).toMatchObject({
      code: 'CONSFIG_NO_VIA',
      host: 'web1.example',
      message: "web1.example has no via: write via: 'local' to configure this machine",
    });
    expect(log.entries).toEqual([]);
    expect((await deployThese({ host: 'web1.example' }, step('2'))).failures[0]!.error.code).toBe('CONSFIG_NO_VIA');
    expect((await deploy(defineHost('web1.example', [step('3')]), 'local')).status).toBe('ok');
  });

  it('refuses a via that is not a chain, naming via', () => {
    expect(() => defineHost('w.example', [], { via: 42 as never })).toThrow(
      /w\.example: via must be a chain such as 'local' or 'ssh:root@web1 sudo', .*, or a list of them, not 42/,
    );
    expect(() => defineHost('w.example', [], { via: [{ wrap: 1 }] as never })).toThrow(/not \{"wrap":1\}/);
    expect(() => defineHost('w.example', [], { via: (() => ({})) as never })).toThrow(
      /a function .*call it to make the hop/,
    );
    expect(() => defineHost('w.example', [], { via: '' })).toThrow(/via is empty \(write 'local'/);
  });
});

/** A property whose check reads `path` through the prefetched probe: it is "done". */
const doneAt = (path: string) =>
  defprop({
    name: 'test.done',
    desc: 'state is done',
    prefetch: () => [{ path, content: true }],
    check: async (ctx) => (await ctx.readFileIfExists(path))?.toString() === 'done',
    apply: async (ctx) => ctx.writeFile(path, 'done'),
  });

describe('the deployment lock', () => {
  it('makes a second deployment of the same target wait, with an event naming the holder', async () => {
    const slow = defprop({
      name: 'test.slow',
      desc: 'slow',
      apply: async (ctx) => {
        await ctx.run(['sleep', '0.5']);
      },
    });
    const events: DeployEvent[] = [];
    const started = Date.now();
    const [a, b] = await Promise.all([
      deploy(localHost('first.example', [slow()]), undefined, { onEvent: (e) => events.push(e) }),
      new Promise((r) => setTimeout(r, 100)).then(() =>
        deploy(localHost('second.example', [slow()]), undefined, { onEvent: (e) => events.push(e) }),
      ),
    ]);
    expect([a.status, b.status]).toEqual(['ok', 'ok']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const waiting = events.filter((e) => e.type === 'host:waiting');
    expect(waiting).toHaveLength(1);
    // the same run: waited for without a bound, as it will finish
    expect(waiting[0]).toMatchObject({ host: 'second.example', chain: 'local', waitMs: 24 * 3600_000 });
    expect(waiting[0]!.type === 'host:waiting' && waiting[0].holder).toMatch(
      new RegExp(`^consfig pid ${process.pid} \\(.*, run [0-9a-f]+\\) deploying first\\.example since \\d{4}-`),
    );
  });

  it('a deployment that waited checks what the holder left, not what it read while waiting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consfig-lock-'));
    const path = join(dir, 'state');
    const done = doneAt(path);
    const holder = await openConnection([]);
    try {
      await holder.lock({ holder: 'another consfig', waitMs: 0 });
      const waiting = deploy(localHost('waits.example', [done()]), undefined, {
        lockWaitMs: 20_000,
        onEvent: (e) => {
          // The holder finishes its work and lets go while this deployment waits: after
          // its reads behind the lock request have been answered.
          if (e.type === 'host:waiting') {
            setTimeout(() => {
              writeFileSync(path, 'done');
              void holder.close();
            }, 400);
          }
        },
      });
      const result = await waiting;
      expect([result.status, result.changed, result.unchanged]).toEqual(['ok', 0, 1]);
    } finally {
      await holder.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a connection lost while waiting for the lock leaves its host unreachable, not failed', async () => {
    const holder = await openConnection([]);
    // The agent is killed half a second in, while it waits for the lock the holder has.
    const doomed = {
      kind: 'doomed',
      describe: () => 'doomed',
      wrap: (inner: readonly string[]) => ['sh', '-c', '(sleep 0.5; kill -9 $$) & exec "$@"', 'doomed', ...inner],
    };
    try {
      await holder.lock({ holder: 'another consfig', waitMs: 0 });
      const result = await deploy(
        localHost('doomed.example', [doneAt('/nonexistent')()], { via: [doomed] }),
        undefined,
        {
          lockWaitMs: 20_000,
        },
      );
      expect([result.status, result.failures.map((f) => [f.kind, f.error.code])]).toEqual([
        'unreachable',
        [['connection', 'CONSFIG_CONNECTION_LOST']],
      ]);
    } finally {
      await holder.close();
    }
  });

  it("sends the lock request and the checks' reads with the greeting, not after its answer", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consfig-lock-'));
    const path = join(dir, 'state');
    writeFileSync(path, 'done');
    const done = doneAt(path);
    // This hop starts the agent only once three requests (greeting, lock, reads) have
    // arrived: a deployment that waited for the greeting's answer would hang here.
    const held = {
      kind: 'held',
      describe: () => 'held',
      wrap: (inner: readonly string[]) => [
        'sh',
        '-c',
        'read -r a; read -r b; read -r c; { printf "%s\\n" "$a" "$b" "$c"; exec cat; } | "$@"',
        'held',
        ...inner,
      ],
    };
    try {
      const result = await deploy(localHost('held.example', [done()], { via: [held] }), undefined, { lockWaitMs: 0 });
      expect([result.status, result.unchanged]).toEqual(['ok', 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it('is not needed by a dry run; a deployment that cannot get it fails clearly', async () => {
    const { step } = setup();
    const holder = await openConnection([]);
    try {
      await holder.lock({ holder: 'another consfig', waitMs: 0 });
      const dry = await deploy(localHost('dry.example', [step('1')]), undefined, { dryRun: true, lockWaitMs: 0 });
      expect([dry.status, dry.changed]).toEqual(['ok', 1]);
      const real = await deploy(localHost('real.example', [step('2')]), undefined, { lockWaitMs: 0 });
      expect(real.status).toBe('failed');
      expect(real.failures[0]!.error).toMatchObject({
        code: 'CONSFIG_LOCKED',
        host: 'real.example',
        message: 'local is being deployed by another consfig; gave up after waiting 0 s',
      });
    } finally {
      await holder.close();
    }
  });
});

describe('command output', () => {
  it('is bounded in memory for properties: head and tail kept, the rest counted', async () => {
    const noisy = defprop({
      name: 'test.noisy',
      desc: 'noisy',
      apply: async (ctx) => {
        await ctx.run(['sh', '-c', 'echo START; head -c 40000000 /dev/zero | tr "\\0" a; echo; echo END; exit 3']);
      },
    });
    const result = await deploy(localHost('noisy.example', [noisy()]));
    const error = result.failures[0]!.error as CommandFailedError;
    expect(error.exitCode).toBe(3);
    expect(error.stdout.length).toBeLessThan(17 << 20);
    expect(error.stdout.startsWith('START\n')).toBe(true);
    expect(error.stdout.endsWith('\nEND\n')).toBe(true);
    expect(error.stdout).toMatch(/\n… \(\d+ bytes left out\) …\n/);
  });
});
