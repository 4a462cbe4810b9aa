/**
 * service: sysvinit-style services through service(8) and update-rc.d. On hosts marked
 * noServices (a chroot being built) they do nothing and report no change.
 */
import { attrs, defprop, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';

const serviceName = z.string().regex(/^[A-Za-z0-9@_.:-]+$/, 'must be a service name');

/** Whether the host says no service may be started or stopped (a root filesystem being built does). */
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

/** The service runs (started with `service NAME start` where it does not). */
export const runningService = withParams<[service: Arg]>()(
  serviceAction('service.running', 'start', 'running', running),
);
/** The service does not run (stopped where it does). */
export const stopped = withParams<[service: Arg]>()(
  serviceAction('service.stopped', 'stop', 'stopped', async (ctx, name) => !(await running(ctx, name))),
);
/** The service is restarted: always a change, so put it after what needs it with onChange. */
export const restarted = withParams<[service: Arg]>()(
  serviceAction('service.restarted', 'restart', 'restarted', async () => false),
);
/** The service reloads its config where it runs (one that does not reads it when it starts). */
export const reloaded = withParams<[service: Arg]>()(
  serviceAction('service.reloaded', 'reload', 'reloaded', async (ctx, name) => !(await running(ctx, name))),
);

/** The service starts at boot (update-rc.d enable). */
export const enabled = withParams<[service: Arg]>()(
  defprop({
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
  }),
);

export { runningService as running };
