/**
 * Host selection: by name glob (minimatch), or `@TAG` (a glob too) for the hosts tagged
 * so; no patterns means every host.
 */
import { attrs, hostsInside, type Host } from '@consfig/core';
import { createRequire } from 'node:module';
import { UsageError } from './args.js';

export interface SelectOptions {
  /**
   * Hosts a glob (or no pattern) passes over: those deployed only as nested hosts of
   * another. A pattern that names one exactly still selects it.
   */
  skip?: (host: Host) => boolean;
}

export function selectHosts(hosts: readonly Host[], patterns: readonly string[], options: SelectOptions = {}): Host[] {
  const skip = options.skip ?? (() => false);
  if (patterns.length === 0) return hosts.filter((h) => !skip(h));
  const { minimatch } = createRequire(import.meta.url)('minimatch') as typeof import('minimatch');
  const chosen = new Set<Host>();
  for (const pattern of patterns) {
    if (pattern.startsWith('@')) {
      const tag = pattern.slice(1);
      const tagged = hosts.filter((h) => h.attrs.get(attrs.tags).some((t) => minimatch(t, tag, { nocase: true })));
      if (tagged.length === 0) {
        const known = [...new Set(hosts.flatMap((h) => h.attrs.get(attrs.tags)))].sort().join(', ') || '(none)';
        throw new UsageError(`no host is tagged ${JSON.stringify(tag)} (tags: ${known})`);
      }
      for (const h of tagged) chosen.add(h);
      continue;
    }
    const exact = hosts.filter((h) => h.name.toLowerCase() === pattern.toLowerCase());
    const matched =
      exact.length > 0 ? exact : hosts.filter((h) => minimatch(h.name, pattern, { nocase: true }) && !skip(h));
    if (matched.length === 0) {
      const names = hosts.map((h) => h.name).join(', ') || '(none)';
      throw new UsageError(`no host matches ${JSON.stringify(pattern)} (hosts: ${names})`);
    }
    for (const h of matched) chosen.add(h);
  }
  return hosts.filter((h) => chosen.has(h));
}

/** For each host that another one builds (a container, chroot or VM): that other host's name. */
export function nestedParents(hosts: readonly Host[]): Map<string, string> {
  const parents = new Map<string, string>();
  for (const host of hosts) {
    if (host.parent) parents.set(host.name, host.parent.name);
    for (const inner of hostsInside(host)) if (!parents.has(inner.name)) parents.set(inner.name, host.name);
  }
  return parents;
}
