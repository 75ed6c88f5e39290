// Several observers as one (metrics and the audit stream), for the one the gateway takes. Each
// method calls only the observers that have it; with one observer the result is that observer.
import type { GatewayObserver } from './observer.ts';

type Method = (...args: unknown[]) => void;

export function combineObservers(
  ...observers: readonly (GatewayObserver | undefined)[]
): GatewayObserver {
  const present = observers.filter((observer) => observer !== undefined);
  if (present.length <= 1) return present[0] ?? {};
  const combined: Record<string, Method> = {};
  for (const name of new Set(present.flatMap(methodNames))) {
    const methods = present.flatMap((observer) => {
      const method = methodOf(observer, name);
      return method === undefined ? [] : [method.bind(observer)];
    });
    const [only] = methods;
    combined[name] =
      methods.length === 1 && only !== undefined
        ? only
        : (...args) => {
            for (const method of methods) method(...args);
          };
  }
  return combined as GatewayObserver;
}

function methodOf(observer: GatewayObserver | undefined, name: string): Method | undefined {
  return (observer as Record<string, Method | undefined> | undefined)?.[name];
}

/** Its methods, own or from its class (and the classes above it), but Object's. */
function methodNames(observer: GatewayObserver): string[] {
  const names: string[] = [];
  for (
    let level: object | null = observer;
    level !== null && level !== Object.prototype;
    level = Object.getPrototypeOf(level)
  ) {
    for (const name of Object.getOwnPropertyNames(level)) {
      if (name !== 'constructor' && typeof methodOf(observer, name) === 'function')
        names.push(name);
    }
  }
  return names;
}
