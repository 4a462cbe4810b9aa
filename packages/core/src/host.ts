/**
 * Hosts: a name, a property tree and how to reach it. Hostattrs are resolved once,
 * purely, on first use (so hosts may read each other's regardless of definition order);
 * a property that refuses the host fails here, before any connection is made.
 */
import { seq, type PropSpec } from './combinators.js';
import type { Hop } from './connection.js';
import { dataAttr } from './data.js';
import { InapplicablePropertyError, InvalidHostError, isConsfigError } from './errors.js';
import { checkVia } from './hop-registry.js';
import { attrs, HostattrStore, type HostattrKey, type HostattrView } from './hostattrs.js';
import type { HostattrsContext, Propapp } from './property.js';

/** How a host is reached: a hop, a chain of hops, or the chain's text (`ssh:root@web1 sudo`). */
export type Via = string | Hop | readonly (Hop | string)[];

export interface HostOptions {
  via?: Via;
  desc?: string;
  /** The host this one is nested in (a chroot, container or VM built by it). */
  parent?: Host;
  /** The parent's hostattrs, when only those are at hand (a nested deployment). */
  parentAttrs?: HostattrView;
  /** Extra hostattrs to seed, pushed before any property's. */
  attrs?: readonly [HostattrKey<unknown>, unknown][];
  /** Groups the host belongs to, as the `tags` hostattr (select them with `consfig deploy @TAG`). */
  tags?: readonly string[];
}

const HOST = Symbol.for('consfig.host');

/** A label of a hostname: letters, digits, hyphens; not starting or ending with a hyphen. */
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isValidHostname(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

export class Host {
  readonly [HOST] = true;
  readonly name: string;
  readonly root: Propapp;
  readonly via: Via | undefined;
  readonly parent: Host | undefined;
  readonly options: HostOptions;
  private resolved: HostattrStore | undefined;
  private resolving = false;

  constructor(name: string, root: Propapp, options: HostOptions = {}) {
    this.name = name;
    this.root = root;
    this.via = options.via;
    this.parent = options.parent;
    this.options = options;
  }

  /** The host's hostattrs; resolved on first use. Throws the first refusal. */
  get attrs(): HostattrView {
    return this.resolve();
  }

  /** The top-level property applications. */
  get props(): readonly Propapp[] {
    return this.root.children;
  }

  resolve(): HostattrStore {
    if (this.resolved) return this.resolved;
    if (this.resolving) {
      throw new InvalidHostError(`hostattrs of ${this.name} depend on themselves (a cycle between hosts)`, {
        host: this.name,
      });
    }
    this.resolving = true;
    try {
      const store = new HostattrStore(this.name, this.parent?.attrs ?? this.options.parentAttrs);
      store.push(attrs.hostname, this.name);
      if (this.options.desc) store.push(attrs.desc, this.options.desc);
      for (const [key, value] of this.options.attrs ?? []) store.push(key, value);
      if (this.options.tags?.length) store.push(attrs.tags, ...this.options.tags);
      walkHostattrs(this.root, store, this.name);
      this.resolved = store;
      return store;
    } finally {
      this.resolving = false;
    }
  }

  /**
   * A copy nested in the host whose hostattrs are `parent`, seeded with `attrs` (a
   * chroot being built gets noServices): what a nested deployment applies.
   */
  nestedIn(parent: HostattrView, seed: readonly [HostattrKey<unknown>, unknown][] = []): Host {
    return new Host(this.name, this.root, {
      ...this.options,
      parent: undefined,
      parentAttrs: parent,
      attrs: [...(this.options.attrs ?? []), ...seed],
    });
  }

  /** Hosts inside hostattrs (a container host's containers) print as their name. */
  toJSON(): { host: string } {
    return { host: this.name };
  }

  /** A copy reached another way. */
  withVia(via: Via): Host {
    const bad = checkVia(via);
    if (bad) throw new InvalidHostError(`${this.name}: ${bad}`, { host: this.name });
    return new Host(this.name, this.root, { ...this.options, via });
  }

  /** A copy with other properties (and the same name, options and parent). */
  withProps(root: Propapp): Host {
    return new Host(this.name, root, this.options);
  }
}

/**
 * The hosts a host's properties build and deploy (the containers, chroots and VMs given
 * to them as arguments): reached only through this host, unless they have a via.
 */
export function hostsInside(host: Host): Host[] {
  const found = new Set<Host>();
  const visit = (node: Propapp) => {
    for (const arg of node.args) {
      for (const value of Array.isArray(arg) ? arg : [arg]) if (isHost(value) && value !== host) found.add(value);
    }
    node.children.forEach(visit);
  };
  visit(host.root);
  return [...found];
}

export function isHost(value: unknown): value is Host {
  return typeof value === 'object' && value !== null && (value as Host)[HOST] === true;
}

function contextFor(store: HostattrStore, hostname: string, property: string): HostattrsContext {
  return {
    hostname,
    parent: store.parent,
    get: (key) => store.get(key),
    first: (key) => store.first(key),
    has: (key) => store.has(key),
    entries: () => store.entries(),
    push: (key, ...values) => store.push(key, ...values),
    of: (host) => host.attrs,
    inapplicable: (message) => {
      throw new InapplicablePropertyError(message, { host: hostname, property });
    },
    include: (propapp) => walkHostattrs(propapp, store, hostname),
    requireData: (iden1, iden2) => {
      if (!store.get(dataAttr).some((d) => d.iden1 === iden1 && d.iden2 === iden2))
        store.push(dataAttr, { iden1, iden2 });
    },
  };
}

/** Run the hostattrs steps of a tree in order, children after their parent. */
export function walkHostattrs(node: Propapp, store: HostattrStore, hostname: string): void {
  if (node.invalid) throw node.invalid.withContext({ host: hostname });
  try {
    node.hostattrs?.(contextFor(store, hostname, node.desc));
  } catch (error) {
    if (isConsfigError(error)) throw error.withContext({ host: hostname, property: node.desc });
    throw new InapplicablePropertyError(
      `hostattrs of ${node.desc} failed: ${error instanceof Error ? error.message : String(error)}`,
      { host: hostname, property: node.desc, cause: error },
    );
  }
  const target = node.isolateChildHostattrs ? store.clone() : store;
  for (const child of node.children) walkHostattrs(child, target, hostname);
}

/** Define a host: its name (an FQDN), its properties in order, and how it is reached. */
export function defineHost(name: string, props: readonly PropSpec[], options: HostOptions = {}): Host {
  if (typeof name !== 'string' || !isValidHostname(name)) {
    throw new InvalidHostError(`${JSON.stringify(name)} is not a valid host name`, { host: String(name) });
  }
  if (!Array.isArray(props)) {
    throw new InvalidHostError(`the properties of ${name} must be an array`, { host: name });
  }
  if (options.parent !== undefined && !isHost(options.parent)) {
    throw new InvalidHostError(`the parent of ${name} is not a host`, { host: name });
  }
  const badVia = options.via === undefined ? undefined : checkVia(options.via);
  if (badVia) throw new InvalidHostError(`${name}: ${badVia}`, { host: name });
  try {
    return new Host(name, seq(...(props as Parameters<typeof seq>)), options);
  } catch (error) {
    if (isConsfigError(error)) throw error.withContext({ host: name });
    throw error;
  }
}

/** A host nested in `parent`: it sees the parent's hostattrs. */
export function childHost(parent: Host, name: string, props: readonly PropSpec[], options: HostOptions = {}): Host {
  return defineHost(name, props, { ...options, parent });
}
