/**
 * service: sysvinit-style services through service(8) and update-rc.d. On hosts marked
 * noServices (a chroot being built) they do nothing and report no change.
 */
import { attrs, defprop, type PropertyContext } from '@consfig/core';
import { z } from 'zod';

const serviceName = z.string().regex(/^[A-Za-z0-9@_.:-]+$/, 'must be a service name');

export function noServices(ctx: PropertyContext): boolean {
  return ctx.attrs.first(attrs.noServices) === true;
}

async function running(ctx: PropertyContext, name: string): Promise<boolean> {
  return ctx.test(['service', name, 'status']);
}

export const runningService = defprop({
  name: 'service.running',
  desc: (name) => `service ${name} running`,
  args: z.tuple([serviceName]),
  argNames: ['service'],
  check: async (ctx, name) => noServices(ctx) || running(ctx, name),
  apply: async (ctx, name) => {
    await ctx.run(['service', name, 'start']);
  },
});

export const stopped = defprop({
  name: 'service.stopped',
  desc: (name) => `service ${name} stopped`,
  args: z.tuple([serviceName]),
  argNames: ['service'],
  check: async (ctx, name) => noServices(ctx) || !(await running(ctx, name)),
  apply: async (ctx, name) => {
    await ctx.run(['service', name, 'stop']);
  },
});

export const restarted = defprop({
  name: 'service.restarted',
  desc: (name) => `service ${name} restarted`,
  args: z.tuple([serviceName]),
  argNames: ['service'],
  check: async (ctx) => noServices(ctx),
  apply: async (ctx, name) => {
    await ctx.run(['service', name, 'restart']);
  },
});

export const reloaded = defprop({
  name: 'service.reloaded',
  desc: (name) => `service ${name} reloaded`,
  args: z.tuple([serviceName]),
  argNames: ['service'],
  // A service that is not running needs no reload: it reads its config when it starts.
  check: async (ctx, name) => noServices(ctx) || !(await running(ctx, name)),
  apply: async (ctx, name) => {
    await ctx.run(['service', name, 'reload']);
  },
});

export const enabled = defprop({
  name: 'service.enabled',
  desc: (name) => `service ${name} enabled at boot`,
  args: z.tuple([serviceName]),
  argNames: ['service'],
  check: async (ctx, name) =>
    ctx.test(['sh', '-c', 'ls /etc/rc[2-5].d/S??"$1" >/dev/null 2>&1 || systemctl is-enabled -q "$1" 2>/dev/null', 'sh', name]),
  apply: async (ctx, name) => {
    await ctx.run(['update-rc.d', name, 'enable']);
  },
});

export { runningService as running };
