// Freezes a plain configuration tree so no part of the gateway can change a setting after load.

/**
 * Freezes plain objects and arrays recursively. Other objects are left as they are: a Buffer
 * cannot be frozen (V8 refuses array views with elements), a URL keeps its state in private
 * slots that freezing does not reach, and the CIDR matchers freeze themselves.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const prototype = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
