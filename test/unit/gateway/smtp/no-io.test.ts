// Keeps the protocol core pure (docs/architecture.md, "Invariants"): no sockets, TLS, HTTP,
// timers, logger or environment in gateway/smtp/ nor in anything it imports.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, ROOT, withoutComments } from '../../../helpers/source-text.ts';

const CORE = join(ROOT, 'gateway/smtp');

const FORBIDDEN_MODULES =
  /^(?:node:)?(?:net|tls|http|https|http2|dgram|timers(?:\/promises)?)$|^(?:undici|pino)(?:\/|$)/;
const FORBIDDEN_CALLS: readonly [string, RegExp][] = [
  ['setTimeout', /\bsetTimeout\s*\(/],
  ['setInterval', /\bsetInterval\s*\(/],
  ['setImmediate', /\bsetImmediate\s*\(/],
  ['process.env', /\bprocess\s*\.\s*env\b/],
];

function violations(text: string): string[] {
  const source = withoutComments(text);
  const found = importsOf(text)
    .filter((spec) => FORBIDDEN_MODULES.test(spec))
    .map((spec) => `imports ${spec}`);
  for (const [name, re] of FORBIDDEN_CALLS) if (re.test(source)) found.push(`uses ${name}`);
  return found;
}

/** Every file of the core and every file it reaches through relative imports. */
function coreFiles(): string[] {
  const seen = new Set<string>();
  const queue = readdirSync(CORE)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(CORE, f));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(readFileSync(file, 'utf8')))
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
  }
  return [...seen].sort();
}

describe('the protocol core is pure', () => {
  const files = coreFiles();

  it('scans every file in gateway/smtp/ and what it imports', () => {
    const names = files.map((f) => relative(ROOT, f));
    expect(names).toContain('gateway/smtp/transition.ts');
    expect(names).toContain('gateway/smtp/input-buffer.ts');
    expect(names).toContain('functions/sdk/interpret.ts');
    for (const name of names) expect(name).toMatch(/^(?:gateway\/smtp|functions\/sdk)\//);
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))(
    '%s imports no socket, TLS, HTTP, timer or logger module and reads no environment',
    (_name, file) => {
      expect(violations(readFileSync(file, 'utf8'))).toEqual([]);
    },
  );

  it('the scanner itself catches each kind of violation', () => {
    expect(violations("import { connect } from 'node:net';")).toEqual(['imports node:net']);
    expect(violations("import type { TLSSocket } from 'node:tls';")).toEqual(['imports node:tls']);
    expect(violations("import * as http from 'http';")).toEqual(['imports http']);
    expect(violations("export { request } from 'node:https';")).toEqual(['imports node:https']);
    expect(violations("import { setTimeout } from 'node:timers/promises';")).toEqual([
      'imports node:timers/promises',
    ]);
    expect(violations("import { request } from 'undici';")).toEqual(['imports undici']);
    expect(violations("const pino = await import('pino');")).toEqual(['imports pino']);
    expect(violations("const net = require('net');")).toEqual(['imports net']);
    expect(violations('setTimeout(() => {}, 10);')).toEqual(['uses setTimeout']);
    expect(violations('const t = setInterval(tick, 10);')).toEqual(['uses setInterval']);
    expect(violations('const port = process.env.PORT;')).toEqual(['uses process.env']);
    expect(violations("const port = process.env['PORT'];")).toEqual(['uses process.env']);
  });

  it('the scanner ignores comments and lookalike names', () => {
    expect(violations('// never call setTimeout here\n/* process.env */')).toEqual([]);
    expect(violations("import { parse } from './nett.ts';")).toEqual([]);
    expect(violations("import { x } from 'pinocchio';")).toEqual([]);
    expect(violations("import { x } from 'node:fs';")).toEqual([]);
  });
});
