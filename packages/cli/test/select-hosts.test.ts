import { describe, expect, it } from 'vitest';
import { defineHost } from '@consfig/core';
import { selectHosts } from '../src/select-hosts.js';

const hosts = [
  defineHost('web1.example', [], { tags: ['web', 'eu'] }),
  defineHost('web2.example', [], { tags: ['web', 'us'] }),
  defineHost('db1.example', [], { tags: ['db', 'eu'] }),
];
const names = (patterns: string[]) => selectHosts(hosts, patterns).map((h) => h.name);

describe('selectHosts', () => {
  it('takes @TAG (a glob too) beside name globs, in the hosts’ order', () => {
    expect(names(['@web'])).toEqual(['web1.example', 'web2.example']);
    expect(names(['@eu', 'web2*'])).toEqual(['web1.example', 'web2.example', 'db1.example']);
    expect(names(['@d*'])).toEqual(['db1.example']);
    expect(names([])).toEqual(['web1.example', 'web2.example', 'db1.example']);
  });

  it('names the tags there are when none matches', () => {
    expect(() => names(['@mail'])).toThrow('no host is tagged "mail" (tags: db, eu, us, web)');
    expect(() => names(['mail*'])).toThrow(/no host matches "mail\*"/);
  });
});
