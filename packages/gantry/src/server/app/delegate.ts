/**
 * Lazy wrappers of web objects (the fetch adapter's Request, FastResponse) answer a few members
 * themselves and hand every other one to the real object, made on first use.
 */

/**
 * Gives `target` each getter and method of `source` it does not define itself, forwarding to the
 * real object `real(this)` returns.
 */
export function delegateMembers(target: object, source: object, real: (self: unknown) => object): void {
  const own = new Set(Object.getOwnPropertyNames(target));
  for (const name of Object.getOwnPropertyNames(source)) {
    if (own.has(name)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(source, name);
    if (descriptor?.get) {
      Object.defineProperty(target, name, {
        get(this: unknown): unknown {
          return Reflect.get(source, name, real(this));
        },
        configurable: true,
      });
    } else if (typeof descriptor?.value === 'function') {
      const method = descriptor.value as (...args: unknown[]) => unknown;
      Object.defineProperty(target, name, {
        value(this: unknown, ...args: unknown[]) {
          return method.apply(real(this), args);
        },
        configurable: true,
        writable: true,
      });
    }
  }
}
