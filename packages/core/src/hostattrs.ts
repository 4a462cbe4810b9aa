/**
 * Hostattrs: typed, static metadata that properties push while a host is resolved,
 * before any connection exists. Each key holds a list, newest first; what several
 * entries mean is up to the key. Other hosts' hostattrs can be read too (a container
 * host reading what its containers declare), and a nested host sees its parent's.
 */
import { z, type ZodType } from 'zod';
import { InapplicablePropertyError, InvalidArgumentError } from './errors.js';

declare const valueType: unique symbol;

export interface HostattrKey<T> {
  readonly name: string;
  readonly schema: ZodType<T> | undefined;
  /** Phantom member carrying T. */
  readonly [valueType]?: T;
}

/** Declare a hostattr key. Values pushed are checked against `schema` when given. */
export function hostattr<T>(name: string, schema?: ZodType<T>): HostattrKey<T> {
  return Object.freeze({ name, schema }) as HostattrKey<T>;
}

/** Read-only view of one host's hostattrs. */
export interface HostattrView {
  readonly hostname: string;
  get<T>(key: HostattrKey<T>): readonly T[];
  /** The newest entry. */
  first<T>(key: HostattrKey<T>): T | undefined;
  has(key: HostattrKey<unknown>): boolean;
  /** Every key with its entries, for display. */
  entries(): [string, readonly unknown[]][];
  /** The parent host's hostattrs, for a nested host (a chroot, container or VM). */
  readonly parent: HostattrView | undefined;
}

/** The store behind a view. */
export class HostattrStore implements HostattrView {
  private readonly values = new Map<string, unknown[]>();

  constructor(
    readonly hostname: string,
    readonly parent: HostattrView | undefined = undefined,
  ) {}

  push<T>(key: HostattrKey<T>, ...items: T[]): void {
    const parsed = items.map((item) => {
      if (!key.schema) return item;
      const result = key.schema.safeParse(item);
      if (!result.success) {
        throw new InvalidArgumentError(`hostattr ${key.name}`, 'value', result.error.issues[0]?.message ?? 'invalid', {
          host: this.hostname,
        });
      }
      return result.data;
    });
    const list = this.values.get(key.name) ?? [];
    list.unshift(...parsed);
    this.values.set(key.name, list);
  }

  get<T>(key: HostattrKey<T>): readonly T[] {
    return (this.values.get(key.name) as T[] | undefined) ?? [];
  }

  first<T>(key: HostattrKey<T>): T | undefined {
    return this.get(key)[0];
  }

  has(key: HostattrKey<unknown>): boolean {
    return (this.values.get(key.name)?.length ?? 0) > 0;
  }

  entries(): [string, readonly unknown[]][] {
    return [...this.values.entries()];
  }

  /** A copy, for combinators whose children's pushes must not stick. */
  clone(): HostattrStore {
    const copy = new HostattrStore(this.hostname, this.parent);
    for (const [k, v] of this.values) copy.values.set(k, [...v]);
    return copy;
  }
}

/** The operating system a host runs, as pushed by the os properties. */
export const osSchema = z.object({
  family: z.string(),
  distribution: z.string(),
  release: z.string().optional(),
  suite: z.string().optional(),
  arch: z.string(),
});
export type OperatingSystem = z.infer<typeof osSchema>;

/** Hostattr keys that consfig itself uses. */
export const attrs = {
  /** The host's name (its FQDN); pushed by defineHost. */
  hostname: hostattr('hostname', z.string()),
  /** Other names the host answers to. */
  aliases: hostattr('aliases', z.string()),
  os: hostattr('os', osSchema),
  /** The host runs no services (a chroot being built): service properties do nothing. */
  noServices: hostattr('no-services', z.boolean()),
  /** The host's description from defineHost. */
  desc: hostattr('desc', z.string()),
  /** Groups the host belongs to (`tags` of defineHost): `consfig deploy @web` selects by them. */
  tags: hostattr('tags', z.string().regex(/^[A-Za-z0-9_.-]+$/, 'tags are letters, digits, _, . and -')),
} as const;

/** Fail at hostattrs time unless the host's OS matches. */
export function requireOs(
  view: HostattrView,
  property: string,
  want: { family?: string; distribution?: string },
): OperatingSystem {
  const os = view.first(attrs.os);
  const wanted = want.distribution ?? want.family ?? 'a known OS';
  if (!os) {
    throw new InapplicablePropertyError(
      `${property} needs ${wanted}, but the host declares no OS (add an os.* property)`,
      {
        host: view.hostname,
        property,
      },
    );
  }
  if ((want.family && os.family !== want.family) || (want.distribution && os.distribution !== want.distribution)) {
    throw new InapplicablePropertyError(`${property} needs ${wanted}, but the host runs ${os.distribution}`, {
      host: view.hostname,
      property,
    });
  }
  return os;
}
