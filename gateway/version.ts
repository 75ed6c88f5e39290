// The package's version, for `mxhook --version` and the build-info metric.
import { readFileSync } from 'node:fs';

/**
 * Read from the package's own package.json, found by walking up from this module: it runs both
 * from the sources (gateway/) and from the build (dist/gateway/), one level deeper.
 */
function readPackageVersion(): string {
  let directory = new URL('./', import.meta.url);
  for (let level = 0; level < 3; level++) {
    directory = new URL('../', directory);
    let text: string;
    try {
      text = readFileSync(new URL('package.json', directory), 'utf8');
    } catch {
      continue; // no package.json at this level
    }
    const manifest = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (manifest.name === 'mxhook' && typeof manifest.version === 'string') return manifest.version;
  }
  throw new Error(`mxhook's package.json is not above ${import.meta.url}`);
}

/** The mxhook version, e.g. `0.1.0`. */
export const VERSION: string = readPackageVersion();
