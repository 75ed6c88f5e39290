// MXHOOK_DKIM_SIGN: its entries and key files, checked with real keys in a temporary directory,
// and which entry signs a message, by its From domain.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DKIM_SIGNING,
  type DkimSigningEntry,
  parseDkimSigning,
} from '../../../../gateway/config/parse-dkim-signing.ts';
import { ConfigError } from '../../../../gateway/errors.ts';
import { signingEntryFor } from '../../../../gateway/outbound/dkim-signing.ts';

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mxhook-dkim-keys-'));
  const pkcs8 = { format: 'pem', type: 'pkcs8' } as const;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(file('rsa.pem'), rsa.privateKey.export(pkcs8));
  writeFileSync(file('rsa.pub.pem'), rsa.publicKey.export({ format: 'pem', type: 'spki' }));
  writeFileSync(
    file('rsa-1024.pem'),
    generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export(pkcs8),
  );
  writeFileSync(file('ed25519.pem'), generateKeyPairSync('ed25519').privateKey.export(pkcs8));
  writeFileSync(
    file('ec.pem'),
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export(pkcs8),
  );
  writeFileSync(
    file('encrypted.pem'),
    generateKeyPairSync('ed25519').privateKey.export({
      ...pkcs8,
      cipher: 'aes-256-cbc',
      passphrase: 'correct horse',
    }),
  );
  writeFileSync(file('not-a-key.txt'), 'hello\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function problem(text: string): string {
  try {
    parseDkimSigning(text, dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('MXHOOK_DKIM_SIGN');
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseDkimSigning', () => {
  it('reads each entry, resolving key paths against the base directory', () => {
    const entries = parseDkimSigning(
      `Example.COM.:mx2026:rsa.pem, ed.example:ed1:${file('ed25519.pem')}`,
      dir,
    );
    expect(entries.map(({ privateKey: _, ...rest }) => rest)).toEqual([
      {
        domain: 'example.com',
        selector: 'mx2026',
        keyPath: file('rsa.pem'),
        algorithm: 'rsa-sha256',
      },
      {
        domain: 'ed.example',
        selector: 'ed1',
        keyPath: file('ed25519.pem'),
        algorithm: 'ed25519-sha256',
      },
    ]);
    expect(entries[0]?.privateKey).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('is empty when unset', () => {
    expect(parseDkimSigning('', dir)).toEqual([]);
  });

  it('names the variable it was given as a config kind', () => {
    const context = { variable: 'MXHOOK_OTHER', base: dir, text: () => '' };
    expect(() => DKIM_SIGNING.parse('example.com:s:missing.pem', context)).toThrow(
      /^MXHOOK_OTHER: cannot read .*missing\.pem \(ENOENT\)$/,
    );
  });

  it('refuses a missing key file', () => {
    expect(problem('example.com:s1:missing.pem')).toBe(
      `MXHOOK_DKIM_SIGN: cannot read ${file('missing.pem')} (ENOENT)`,
    );
  });

  it('refuses what is not an unencrypted private key', () => {
    for (const name of ['not-a-key.txt', 'rsa.pub.pem', 'encrypted.pem']) {
      expect(problem(`example.com:s1:${name}`)).toBe(
        `MXHOOK_DKIM_SIGN: ${file(name)} is not an unencrypted PEM private key`,
      );
    }
  });

  it('refuses RSA keys under 2048 bits and key types DKIM has no algorithm for', () => {
    expect(problem('example.com:s1:rsa-1024.pem')).toMatch(
      /rsa-1024\.pem is a 1024-bit RSA key; at least 2048 bits are required/,
    );
    expect(problem('example.com:s1:ec.pem')).toMatch(
      /ec\.pem holds a key of type ec; DKIM signs with RSA or Ed25519$/,
    );
  });

  it('refuses a domain listed twice, however it is spelled', () => {
    expect(problem('example.com:a:rsa.pem,EXAMPLE.com.:b:ed25519.pem')).toBe(
      'MXHOOK_DKIM_SIGN: example.com is listed twice; give one key per domain',
    );
  });

  it('refuses malformed entries', () => {
    expect(problem('example.com:rsa.pem')).toMatch(
      /"example.com:rsa.pem" is not domain:selector:keyfile/,
    );
    expect(problem('not a domain:s1:rsa.pem')).toMatch(/"not a domain" .* is not a domain name/);
    expect(problem('example.com:bad_selector:rsa.pem')).toMatch(
      /"bad_selector" .* is not a DKIM selector/,
    );
    expect(problem('example.com:s1:rsa.pem,,')).toMatch(/empty entry/);
  });
});

describe('signingEntryFor', () => {
  const entry = (domain: string): DkimSigningEntry => ({
    domain,
    selector: 's',
    keyPath: '/k.pem',
    privateKey: '',
    algorithm: 'ed25519-sha256',
  });
  const entries = [entry('example.com'), entry('mail.example.com'), entry('other.test')];
  const message = (header: string) => [Buffer.from(`${header}\r\n\r\nbody\r\n`)];
  const domainFor = (header: string) => signingEntryFor(message(header), entries)?.domain ?? null;

  it('matches the From domain exactly, in any case', () => {
    expect(domainFor('From: Alice <alice@Example.COM>')).toBe('example.com');
    expect(domainFor('Subject: x\r\nfrom:bob@other.test')).toBe('other.test');
  });

  it("signs a subdomain's mail with the closest parent entry", () => {
    expect(domainFor('From: a@news.example.com')).toBe('example.com');
    expect(domainFor('From: a@eu.mail.example.com')).toBe('mail.example.com');
    expect(domainFor('From: a@mail.example.com')).toBe('mail.example.com');
  });

  it('reads a folded From field and a From spread over pieces', () => {
    expect(domainFor('From: "Alice\r\n Example" <alice@other.test>')).toBe('other.test');
    const pieces = [
      Buffer.from('To: b@x.test\r\nFrom: a@exam'),
      Buffer.from('ple.com\r\n\r\nhi\r\n'),
    ];
    expect(signingEntryFor(pieces, entries)?.domain).toBe('example.com');
  });

  it('matches nothing for other domains, look-alikes, and an ambiguous or absent From', () => {
    expect(domainFor('From: a@elsewhere.test')).toBeNull();
    expect(domainFor('From: a@notexample.com')).toBeNull();
    expect(domainFor('From: a@example.com.evil.test')).toBeNull();
    expect(domainFor('From: a@example.com\r\nFrom: b@example.com')).toBeNull();
    expect(domainFor('From: a@example.com, b@other.test')).toBeNull();
    expect(domainFor('Subject: no sender')).toBeNull();
  });
});
