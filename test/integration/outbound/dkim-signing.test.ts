// Outgoing mail signed with mailauth, keys published in a loopback DNS server, and every
// signature checked by the tests' own verifier (test/helpers/dkim-verifier.ts), not by mailauth.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DkimSigningEntry,
  parseDkimSigning,
} from '../../../gateway/config/parse-dkim-signing.ts';
import { signOutgoing } from '../../../gateway/outbound/dkim-signing.ts';
import { dkimKeyRecord } from '../../helpers/dkim-signer.ts';
import { verifyDkim } from '../../helpers/dkim-verifier.ts';
import { closeAllDnsServers, startDnsServer } from '../../helpers/dns-server.ts';

let dir: string;
let entries: readonly DkimSigningEntry[];
let resolver: Resolver;

function writeKey(name: string, privateKey: KeyObject): void {
  writeFileSync(join(dir, name), privateKey.export({ format: 'pem', type: 'pkcs8' }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxhook-dkim-sign-'));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed25519 = generateKeyPairSync('ed25519');
  writeKey('rsa.pem', rsa.privateKey);
  writeKey('ed25519.pem', ed25519.privateKey);
  entries = parseDkimSigning('rsa.example:mx2026:rsa.pem, ed.example:ed1:ed25519.pem', dir);
  const dns = await startDnsServer({
    'mx2026._domainkey.rsa.example': [{ type: 'TXT', data: dkimKeyRecord(rsa.publicKey) }],
    'ed1._domainkey.ed.example': [{ type: 'TXT', data: dkimKeyRecord(ed25519.publicKey) }],
  });
  resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([dns.server]);
});

afterAll(async () => {
  await closeAllDnsServers();
  rmSync(dir, { recursive: true, force: true });
});

/** A message in several pieces, with trailing whitespace and folding for relaxed to smooth. */
function message(from: string): Buffer[] {
  return [
    Buffer.from(
      `From: Alice <alice@${from}>\r\nTo: bob@example.net\r\nSubject: Quarterly\r\n figures  \r\nDate: Sun, 06 Dec 2026 16:00:00 +0000\r\nMessage-ID: <q4@${from}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`,
    ),
    Buffer.from('The numbers are in.  \r\n\r\nSee you,\r\n'),
    Buffer.from('Alice\r\n\r\n\r\n'),
  ];
}

async function signed(from: string): Promise<Buffer> {
  return Buffer.concat(await signOutgoing(message(from), entries));
}

describe('signOutgoing', () => {
  it('signs with an RSA-2048 key, relaxed/relaxed, verifiably', async () => {
    const sample = await signed('rsa.example');
    const verdict = await verifyDkim(sample, resolver);
    expect(verdict).toMatchObject({
      result: 'pass',
      domain: 'rsa.example',
      selector: 'mx2026',
      algorithm: 'rsa-sha256',
    });
    expect(verdict.result === 'pass' && verdict.signedHeaders).toEqual(
      expect.arrayContaining(['from', 'to', 'subject', 'date', 'message-id', 'content-type']),
    );
  });

  it('signs with an Ed25519 key (RFC 8463), verifiably', async () => {
    const verdict = await verifyDkim(await signed('ed.example'), resolver);
    expect(verdict).toMatchObject({
      result: 'pass',
      domain: 'ed.example',
      selector: 'ed1',
      algorithm: 'ed25519-sha256',
    });
  });

  it("signs a subdomain's mail with its parent's key", async () => {
    const verdict = await verifyDkim(await signed('news.rsa.example'), resolver);
    expect(verdict).toMatchObject({ result: 'pass', domain: 'rsa.example' });
  });

  it('leaves mail from a domain without a key unchanged', async () => {
    const pieces = message('elsewhere.example');
    expect(await signOutgoing(pieces, entries)).toBe(pieces);
  });

  it('the verifier refuses a changed body', async () => {
    const tampered = Buffer.from(
      (await signed('rsa.example')).toString().replace('numbers are in', 'numbers are out'),
    );
    expect(await verifyDkim(tampered, resolver)).toEqual({
      result: 'fail',
      reason: 'body hash mismatch',
    });
  });

  it('the verifier refuses a changed signed header field', async () => {
    for (const domain of ['rsa.example', 'ed.example']) {
      const tampered = Buffer.from(
        (await signed(domain)).toString().replace('Subject: Quarterly', 'Subject: Yearly'),
      );
      expect(await verifyDkim(tampered, resolver)).toEqual({
        result: 'fail',
        reason: 'signature mismatch',
      });
    }
  });
});
