import { describe, expect, it } from 'vitest';
import * as root from '../../src/index.js';
import * as hop from '../../src/public/hop.js';
import * as property from '../../src/public/property.js';

describe('entry points by audience', () => {
  it('gives a config author hosts, combinators, deploying and errors, and no engine internals', () => {
    for (const name of ['defineHost', 'defineConsfig', 'seq', 'onChange', 'deployThese', 'defprop', 'z', 'yamlSource'])
      expect(root, name).toHaveProperty(name);
    for (const name of ['toCheck', 'toOutcome', 'HostattrStore', 'PROPAPP', 'registerHopKind', 'parseHop'])
      expect(root, name).not.toHaveProperty(name);
  });

  it('gives a property author all of that and what only properties use', () => {
    for (const name of Object.keys(root))
      expect(property[name as keyof typeof property], name).toBe(root[name as keyof typeof root]);
    for (const name of ['requireOs', 'invalidApplication', 'PROPAPP', 'tempPathFor', 'shellQuote', 'fetchData'])
      expect(property, name).toHaveProperty(name);
    expect(property).not.toHaveProperty('registerHopKind');
  });

  it('gives a hop author the registry and quoting', () => {
    for (const name of Object.keys(root))
      expect(hop[name as keyof typeof hop], name).toBe(root[name as keyof typeof root]);
    for (const name of ['registerHopKind', 'parseHop', 'knownHopKinds', 'checkVia', 'shellJoin'])
      expect(hop, name).toHaveProperty(name);
  });
});
