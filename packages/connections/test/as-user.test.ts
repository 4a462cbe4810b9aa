/** asUser (core's combinator) over this package's hops: runuser as root, sudo otherwise. */
import { asUser, defineHost, defprop, deploy, type DeployEvent, type Propapp } from '@consfig/core';
import { beforeAll, expect, it } from 'vitest';
import { runuser, sudo } from '../src/index.js';
import '../src/register.js';
import { ensureUsers, TEST_USER } from './support/machine.js';

beforeAll(() => ensureUsers());

const whoami = defprop({
  name: 'test.whoami',
  desc: 'who',
  apply: async (ctx) => {
    const r = await ctx.run(['id', '-un']);
    ctx.note(r.stdout.trim());
    return 'unchanged';
  },
});

/** What `id -un` said in each property, in order. */
async function whoRan(via: Parameters<typeof deploy>[1], ...props: Propapp[]): Promise<string[]> {
  const events: DeployEvent[] = [];
  const result = await deploy(defineHost('o.example', props), via, { onEvent: (e) => events.push(e) });
  expect(result.failures.map((f) => f.error.message)).toEqual([]);
  return events.flatMap((e) => (e.type === 'property:end' ? e.notes : []));
}

it('runs the properties as that user through a runuser hop when the connection is root', async () => {
  expect(await whoRan('local', whoami(), asUserTwice('nobody'))).toEqual(['root', 'nobody', 'nobody']);
});

it('goes through sudo when the connection is another user, and back to root', async () => {
  expect(await whoRan([runuser(TEST_USER)], whoami(), asUserTwice('root'), asUserTwice('nobody'))).toEqual([
    TEST_USER,
    'root',
    'root',
    'nobody',
    'nobody',
  ]);
});

it('as root already, asUser root adds no hop', async () => {
  expect(await whoRan([sudo()], asUserTwice('root'))).toEqual(['root', 'root']);
});

function asUserTwice(user: string): Propapp {
  return asUser(user, whoami(), whoami());
}
