/**
 * os: declare the operating system a host runs. Pure hostattrs: other properties use
 * them to refuse hosts they do not support, and bootstrappers to pick suite and arch.
 */
import {
  attrs,
  defprop,
  PROPAPP,
  type HostattrView,
  type Propapp,
  type PropertyContext,
  withParams,
  type Arg,
} from '@consfig/core/property';
import { z } from 'zod';

const arch = z.string().regex(/^[a-z0-9]+$/, 'must be a Debian architecture such as amd64');
const suite = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a Debian suite name such as bookworm');

/** The host runs Debian stable `suite` (such as bookworm) on `arch` (default amd64): hostattrs only. */
export const debianStable = withParams<[suite: Arg, arch?: Arg]>()(
  defprop({
    name: 'os.debianStable',
    desc: (s, a) => `Debian stable (${s}, ${a})`,
    args: z.tuple([suite, arch.default('amd64')]),
    argNames: ['suite', 'arch'],
    hostattrs: (h, s, a) =>
      h.push(attrs.os, { family: 'linux', distribution: 'debian', release: 'stable', suite: s, arch: a }),
  }),
);

/** The host runs Debian testing on `arch` (default amd64): hostattrs only. */
export const debianTesting = withParams<[arch?: Arg]>()(
  defprop({
    name: 'os.debianTesting',
    desc: (a) => `Debian testing (${a})`,
    args: z.tuple([arch.default('amd64')]),
    argNames: ['arch'],
    hostattrs: (h, a) =>
      h.push(attrs.os, { family: 'linux', distribution: 'debian', release: 'testing', suite: 'testing', arch: a }),
  }),
);

/** The host runs Debian unstable (sid) on `arch` (default amd64): hostattrs only. */
export const debianUnstable = withParams<[arch?: Arg]>()(
  defprop({
    name: 'os.debianUnstable',
    desc: (a) => `Debian unstable (${a})`,
    args: z.tuple([arch.default('amd64')]),
    argNames: ['arch'],
    hostattrs: (h, a) =>
      h.push(attrs.os, { family: 'linux', distribution: 'debian', release: 'unstable', suite: 'sid', arch: a }),
  }),
);

/**
 * Choose properties by the host's distribution: `os.typecase({ debian: …, default: … })`.
 * Without a matching branch and without `default`, the host is refused at hostattrs
 * time, naming what the branches support.
 */
export function typecase(branches: Record<string, Propapp>): Propapp {
  const choose = (view: HostattrView): Propapp | undefined => {
    const distribution = view.first(attrs.os)?.distribution;
    return (distribution !== undefined ? branches[distribution] : undefined) ?? branches.default;
  };
  const supported = Object.keys(branches).filter((k) => k !== 'default');
  const pick = (ctx: PropertyContext) => choose(ctx.attrs)!;
  const node: Propapp = {
    [PROPAPP]: true as const,
    name: 'os.typecase',
    desc: `by OS (${supported.join(', ')})`,
    args: [],
    announce: false,
    combinator: true,
    children: [],
    hostattrs: (h) => {
      const os = h.first(attrs.os);
      const branch =
        choose(h) ??
        h.inapplicable(
          `only for ${supported.join(', ')}, but the host ${os ? `runs ${os.distribution}` : 'declares no OS'}`,
        );
      h.include(branch);
    },
    apply: (ctx) => ctx.apply(pick(ctx)),
    unapply: (ctx) => ctx.unapply(pick(ctx)),
  };
  return Object.freeze(node);
}
