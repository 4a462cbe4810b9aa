import { describe, expect, it } from 'vitest';
import { inside, outsideOf, parseIdMap } from '../../src/agent/id-map.js';

describe('id maps', () => {
  const map = parseIdMap('         0     100000      65536\n     65536       1001          1\n');

  it('reads the ranges of a uid_map', () => {
    expect(map).toEqual([
      { inside: 0, outside: 100000, count: 65536 },
      { inside: 65536, outside: 1001, count: 1 },
    ]);
    expect(parseIdMap('0 0 4294967295\n')).toEqual([{ inside: 0, outside: 0, count: 4294967295 }]);
  });

  it('translates both ways, and says where an id has no mapping', () => {
    expect(inside(map, 100000)).toBe(0);
    expect(inside(map, 165535)).toBe(65535);
    expect(inside(map, 1001)).toBe(65536);
    expect(inside(map, 0)).toBeUndefined();
    expect(inside(map, 165536)).toBeUndefined();
    expect(outsideOf(map, 0)).toBe(100000);
    expect(outsideOf(map, 65536)).toBe(1001);
    expect(outsideOf(map, 65537)).toBeUndefined();
  });
});
