import { describe, expect, it } from 'vitest';
import { lazyNamespace } from '../src/lazy-namespace.js';

/** A namespace as esbuild's CommonJS view has it: exports enumerable, an __esModule mark not. */
function namespace() {
  const ns = { hasContent: () => 'made', removed: 42 };
  Object.defineProperty(ns, '__esModule', { value: true, enumerable: false });
  return ns;
}

describe('lazyNamespace', () => {
  it('loads on first use, once, and then reads as the namespace does', () => {
    let loads = 0;
    const file = lazyNamespace(() => {
      loads++;
      return namespace();
    });
    expect(loads).toBe(0);
    expect(file.hasContent()).toBe('made');
    expect([file.removed, 'removed' in file, 'nothing' in file, loads]).toEqual([42, true, false, 1]);
    expect(Object.keys(file)).toEqual(['hasContent', 'removed']);
    expect({ ...file }.removed).toBe(42);
    expect(loads).toBe(1);
  });

  it('cannot be written to', () => {
    const file = lazyNamespace(namespace) as Record<string, unknown>;
    expect(() => {
      file.removed = 1;
    }).toThrow(TypeError);
    expect(() => delete file.removed).toThrow(TypeError);
    expect(file.removed).toBe(42);
  });
});
