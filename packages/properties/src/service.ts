/**
 * service: sysvinit-style services through service(8) and update-rc.d. On hosts marked
 * noServices (a chroot being built) they do nothing and report no change.
 */
import { attrs, defprop, type PropertyContext } from '@consfig/core/property';
import { z } from 'zod';

const serviceName = z.string().regex(/^[A-Za-z0-9@_.:-]+$/, 'must be a service name');

export function noServices(ctx: PropertyContext): boolean {
  return ctx.attrs.first(attrs.noServices) === true;
}

async function running(ctx: PropertyContext, name: string): Promise<boolean> {
  return ctx.test(['service', name, 'status']);
}

/**
 * A `service NAME VERB` property, applied unless `done` says so (always done without
 * services).
 */
function serviceAction(
  property: string,
  verb: string,
  what: string,
  done: (ctx: PropertyContext, name: string) => Promise<boolean>,
) {
  return defprop({
    name: property,
    desc: (name) => `service ${name} ${what}`,
    args: z.tuple([serviceName]),
    argNames: ['service'],
    check: async (ctx, name) => noServices(ctx) || done(ctx, name),
    apply: async (ctx, name) => {
      await ctx.run(['service', name, verb]);
    },
  });
}

export const runningService = serviceAction('service.running', 'start', 'running', running);
export const stopped = serviceAction(
  'service.stopped',
  'stop',
  'stopped',
  async (ctx, name) => !(await running(ctx, name)),
);
export const restarted = serviceAction('service.restarted', 'restart', 'restarted', async () => false);
// A service that is not running needs no reload: it reads its config when it starts.
export const reloaded = serviceAction(
  'service.reloaded',
  'reload',
  'reloaded',
  async (ctx, name) => !(await running(ctx, name)),
);

export const enabled = defprop({
  name: 'service.enabled',
  desc: (name) => `service ${name} enabled at boot`,
  args: z.tuple([serviceName]),
  argNames: ['service'],
  check: async (ctx, name) =>
    ctx.test([
      'sh',
      '-c',
      'ls /etc/rc[2-5].d/S??"$1" >/dev/null 2>&1 || systemctl is-enabled -q "$1" 2>/dev/null',
      'sh',
      name,
    ]),
  apply: async (ctx, name) => {
    await ctx.run(['update-rc.d', name, 'enable']);
  },
});

export { runningService as running };
