/**
 * Sub-deployments as properties (Consfigurator's deploys and deploys-these): from the
 * host being deployed, reach another target through `via` (hops that start there: ssh
 * to a neighbour, sudo, a chroot) and deploy a host's properties, or just these, there.
 * The target is reported as a host of its own, in dry runs too, and takes its own lock.
 */
import { z } from 'zod';
import { flattenProps, type PropSpec } from './combinators.js';
import { dataAttr } from './data.js';
import { checkVia, resolveVia } from './hop-registry.js';
import { defineHost, isHost, type Host, type Via } from './host.js';
import { defprop, type Propapp } from './property.js';

const via = z.unknown().superRefine((v, ctx) => {
  const problem = checkVia(v);
  if (problem) return ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  try {
    resolveVia(v as Via);
  } catch (error) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
  }
}) as unknown as z.ZodType<Via, z.ZodTypeDef, Via>;
const hostArg = z.custom<Host>((v) => isHost(v), { message: 'must be a host made with defineHost' });

const viaText = (v: Via) =>
  (Array.isArray(v) ? v : [v])
    .map((x) => (typeof x === 'string' ? x : (x as { describe(): string }).describe()))
    .join(' ');

const deploysProp = defprop({
  name: 'deploys',
  desc: (v, host) => `${host.name} deployed via ${viaText(v)}`,
  args: z.tuple([via, hostArg]),
  argNames: ['via', 'host'],
  appliesOthers: true,
  // The other host's prerequisite data is fetched with ours, before anything connects.
  hostattrs: (h, _v, host) => {
    for (const item of host.attrs.get(dataAttr)) h.requireData(item.iden1, item.iden2);
  },
  apply: async (ctx, v, host) => (await ctx.deployNested(host, resolveVia(v))).result,
});

/** Deploy `host` (its own properties) on the target that `via` reaches from this host. */
export function deploys(v: Via, host: Host): Propapp {
  return deploysProp(v, host);
}

const theseHosts = new WeakMap<readonly Propapp[], Map<string, Host>>();
/** One host per deploying host for a list of props, made on first use. */
function hostFor(name: string, props: readonly Propapp[]): Host {
  const byName = theseHosts.get(props) ?? new Map<string, Host>();
  theseHosts.set(props, byName);
  const made = byName.get(name) ?? defineHost(name, props);
  byName.set(name, made);
  return made;
}

const deploysTheseProp = defprop({
  name: 'deploysThese',
  desc: (v, props) => `${props.length} propert${props.length === 1 ? 'y' : 'ies'} deployed via ${viaText(v)}`,
  args: z.tuple([via, z.array(z.custom<Propapp>(() => true))]),
  argNames: ['via', 'properties'],
  appliesOthers: true,
  hostattrs: (h, _v, props) => {
    for (const item of hostFor(h.hostname, props).attrs.get(dataAttr)) h.requireData(item.iden1, item.iden2);
  },
  apply: async (ctx, v, props) => (await ctx.deployNested(hostFor(ctx.hostname, props), resolveVia(v))).result,
});

/**
 * Deploy just these properties on the target that `via` reaches from this host; they are
 * reported as a host of this host's name there.
 */
export function deploysThese(v: Via, ...props: PropSpec[]): Propapp {
  return deploysTheseProp(v, flattenProps(props, 'deploysThese'));
}
