// The package entry point and the runtime boundary: the SDK exports its API and imports nothing Node-only.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as sdk from '../../../../functions/sdk/index.ts';

const sdkDir = new URL('../../../../functions/sdk/', import.meta.url);

describe('functions/sdk/index.ts', () => {
  it('exports the public API', () => {
    for (const name of [
      'verify',
      'verifyBody',
      'signBody',
      'importSigningKey',
      'importHmacSecret',
      'importEd25519PrivateKey',
      'publicJwks',
      'interpretResponse',
      'accept',
      'reject',
      'defer',
      'withHeaders',
      'mxhook',
      'mxhookVerify',
      'MemorySeenIdStore',
      'MxhookError',
      'MxhookVerifyError',
      'STEP_CODES',
      'ACTION_REPLIES',
      'SIGNATURE_HEADER',
      'STEPS',
      'rawMessage',
    ]) {
      expect(sdk, name).toHaveProperty(name);
    }
  });

  it('only re-exports', () => {
    const source = readFileSync(new URL('index.ts', sdkDir), 'utf8');
    const statements = source
      .split('\n')
      .filter((line) => /^\S/.test(line) && !line.startsWith('//'));
    for (const line of statements) expect(line).toMatch(/^(export |\} from )/);
  });
});

describe('the runtime boundary', () => {
  const files = readdirSync(sdkDir).filter((name) => name.endsWith('.ts'));

  it.each(files)('%s imports only relative files, jose and hono', (name) => {
    // Examples in TSDoc may show Node code; only the code itself must stay Web-only.
    const source = readFileSync(new URL(name, sdkDir), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const specifiers = [...source.matchAll(/\bfrom\s+'([^']+)'/g)].map((match) => match[1]!);
    for (const specifier of specifiers) {
      expect(specifier).toMatch(/^(\.\/[a-z0-9-]+\.ts|jose|hono)$/);
    }
    expect(source).not.toMatch(/\bprocess\.|\bBuffer\b|\brequire\(/);
  });
});
