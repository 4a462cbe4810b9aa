/**
 * A module namespace that loads on first use: what `@consfig/properties` exports for each
 * of its modules (apt, file, lxc…) in its one-file runtime (scripts/bundle.mjs). A config
 * uses a few of the ~20; building the others' argument schemas and constants at every
 * start cost ~20 ms of a small deploy. Reads only: a namespace is not written to.
 */
export function lazyNamespace<T extends object>(load: () => T): T {
  let real: T | undefined;
  const get = (): T => (real ??= load());
  return new Proxy(Object.create(null) as T, {
    get: (_, key) => Reflect.get(get(), key),
    has: (_, key) => Reflect.has(get(), key),
    // (its exports: not the __esModule mark a CommonJS view of a module carries)
    ownKeys: () => Object.keys(get()),
    getOwnPropertyDescriptor: (_, key) =>
      Object.prototype.propertyIsEnumerable.call(get(), key)
        ? { value: Reflect.get(get(), key), enumerable: true, configurable: true, writable: false }
        : undefined,
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}
