/** What a root filesystem is built from: the options every bootstrapper understands. */
import { z } from 'zod';

/** Debian suites and their aliases that the archive serves (others are refused early). */
export const DEBIAN_SUITES = [
  'buster',
  'bullseye',
  'bookworm',
  'trixie',
  'forky',
  'duke',
  'sid',
  'oldoldstable',
  'oldstable',
  'stable',
  'testing',
  'unstable',
  'experimental',
] as const;

export const bootstrapOptions = z
  .object({
    /** Which bootstrapper: default mmdebstrap when the building machine has it, else debootstrap. */
    bootstrapper: z.string().optional(),
    suite: z.string().regex(/^[a-z][a-z0-9.-]*$/, 'must be a suite name such as bookworm'),
    arch: z
      .string()
      .regex(/^[a-z0-9]+$/, 'must be an architecture such as amd64')
      .default('amd64'),
    variant: z
      .string()
      .regex(/^[a-z-]+$/)
      .default('minbase'),
    includes: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'must be package names')).default([]),
    components: z.array(z.string().regex(/^[a-z-]+$/)).default(['main']),
    /** Archive URL; default: the building machine's own archive, with the suite asked for. */
    mirror: z.string().url().optional(),
    /** An HTTP proxy for the archive. */
    proxy: z.string().url().optional(),
    keyring: z.string().startsWith('/').optional(),
    /** For the tarball bootstrapper: the root tarball to unpack (a path on the building machine). */
    tarball: z.string().startsWith('/').optional(),
  })
  .strict();

export type BootstrapOptions = z.output<typeof bootstrapOptions>;
export type BootstrapOptionsInput = z.input<typeof bootstrapOptions>;

/** The building machine's apt sources, whose archive URL is the default mirror. */
export const HOST_SOURCES = '/etc/apt/sources.list.d/debian.sources';

/** Debian's codenames: what /etc/os-release of a tree built for that suite names. */
export const DEBIAN_CODENAMES = ['buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke'] as const;

/** What debootstrap and mmdebstrap both take the same way: components, extra packages, keyring. */
export function debianSelection(o: BootstrapOptions): string[] {
  return [
    `--components=${o.components.join(',')}`,
    ...(o.includes.length > 0 ? [`--include=${o.includes.join(',')}`] : []),
    ...(o.keyring ? [`--keyring=${o.keyring}`] : []),
  ];
}
