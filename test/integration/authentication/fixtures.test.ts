// Proves the mail-authentication fixtures (auth-zone.ts, dkim-signer.ts, arc-sealer.ts) against
// mailauth over the loopback DNS server, and records what mailauth 7.1.0 reports for each case,
// so the gateway's tests can rely on these verdicts. Observed results are asserted as they are,
// surprising ones included (each is marked "mailauth:").
import { Resolver } from 'node:dns/promises';
import { text } from 'node:stream/consumers';
import fc from 'fast-check';
import { authenticate, type DNSResolver, dkimVerify, spf } from 'mailauth';
import DKIM from 'nodemailer/lib/dkim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeBodyAfterSealing, sealArc, tamperArcSeal } from '../../helpers/arc-sealer.ts';
import { createAuthFixtures } from '../../helpers/auth-zone.ts';
import { type DkimCanonicalization, signDkim } from '../../helpers/dkim-signer.ts';
import { closeAllDnsServers, startDnsServer } from '../../helpers/dns-server.ts';

const fx = createAuthFixtures();
const { rsa, ed25519, rsa512, arc: arcKey } = fx.keys;
const STRANGER = fx.strangerAddress;
let dns: Resolver;
let resolver: DNSResolver;

beforeAll(async () => {
  const server = await startDnsServer(fx.zone);
  dns = new Resolver({ timeout: 2_000, tries: 1 });
  dns.setServers([server.server]);
  // Plain node:dns, not the gateway's caching resolver: these tests are about the fixtures.
  resolver = (name, rrtype) => dns.resolve(name, rrtype) as Promise<string[][] | string[]>;
});

afterAll(closeAllDnsServers);

function message(from = 'a@pass.test'): string {
  return [
    `From: ${from}`,
    'To: b@example.test,\r\n\tc@example.test', // folded, for canonicalization
    'Subject:  hello   there ',
    'Date: Sun, 6 Dec 2026 10:00:00 +0000',
    'Message-ID: <1@pass.test>',
    'X-Unsigned: 1',
    'X-Other: 2',
    '',
    'body  line \t',
    'second line',
    '',
    '',
  ].join('\r\n');
}

/** The one DKIM result of a message with one signature. */
async function verifyOne(signed: string, strict = false) {
  const { results, fromFields, headerFrom } = await dkimVerify(signed, { resolver, strict });
  expect(results).toHaveLength(1);
  return { ...results[0]!, fromFields, headerFrom };
}

async function authenticateFrom(signed: string, ip: string, sender: string) {
  return authenticate(signed, {
    ip,
    sender,
    helo: 'client.example.test',
    mta: 'mx.gateway.test',
    resolver,
    disableBimi: true,
  });
}

describe('DKIM: our signer verifies with mailauth', () => {
  const canonicalizations: DkimCanonicalization[] = [
    'relaxed/relaxed',
    'simple/simple',
    'relaxed/simple',
    'simple/relaxed',
  ];
  for (const key of [rsa, ed25519]) {
    for (const canonicalization of canonicalizations) {
      it(`${key.selector} ${canonicalization} passes`, async () => {
        const result = await verifyOne(signDkim(message(), { ...key, canonicalization }));
        expect(result.status.result).toBe('pass');
        expect(result.algo).toBe(key === rsa ? 'rsa-sha256' : 'ed25519-sha256');
        expect(result.format).toBe(canonicalization);
      });
    }
  }

  it('RSA-2048 keys are published in two TXT character-strings and still found', async () => {
    const txt = await dns.resolveTxt(`rsa2048._domainkey.pass.test`);
    expect(txt[0]).toHaveLength(2);
    const result = await verifyOne(signDkim(message(), rsa));
    expect(result.modulusLength).toBe(2048);
  });

  it('the Ed25519 key record holds the raw 32-octet key with k=ed25519 (RFC 8463 §4)', async () => {
    const [strings] = await dns.resolveTxt('ed25519._domainkey.pass.test');
    const record = strings?.join('') ?? '';
    expect(record).toMatch(/^v=DKIM1; k=ed25519; p=/);
    expect(Buffer.from(record.split('p=')[1] ?? '', 'base64')).toHaveLength(32);
    const result = await verifyOne(signDkim(message(), ed25519));
    // No key-type-inferred warning: the key type comes from k=, not from the key's length.
    expect(result.status.warnings).toBeUndefined();
  });

  it('i=, t= and x= are read back as signed', async () => {
    const signedAt = new Date('2026-12-06T10:00:00Z');
    const expiresAt = new Date('2099-01-01T00:00:00Z');
    const signed = signDkim(message(), { ...rsa, identity: 'a@pass.test', signedAt, expiresAt });
    const result = await verifyOne(signed);
    expect(result.status.result).toBe('pass');
    expect(result.signTime).toBe(signedAt.toISOString());
    expect(result.expiresAfter).toBe(expiresAt.toISOString());
    // mailauth: the lenient default reports header.i=@<d=>, whatever i= says; strict reports i=.
    expect(result.status.header).toMatchObject({ i: '@pass.test' });
    const strict = await verifyOne(signed, true);
    expect(strict.status.header).toMatchObject({ d: 'pass.test', i: 'a@pass.test' });
  });
});

describe('DKIM: nodemailer, a second independent signer', () => {
  it('signs the same message; both pass in mailauth and agree on the relaxed body hash', async () => {
    const raw = message();
    const signer = new DKIM({
      domainName: rsa.domain,
      keySelector: rsa.selector,
      privateKey: rsa.privateKey,
      headerFieldNames: 'from:to:subject:date:message-id',
    });
    const theirs = await text(signer.sign(raw));
    const ours = signDkim(raw, rsa);
    const [their, our] = [await verifyOne(theirs), await verifyOne(ours)];
    expect(their.status.result).toBe('pass');
    expect(our.status.result).toBe('pass');
    const bh = (signed: string) => /\bbh=([^;\s]+)/.exec(signed)?.[1];
    expect(bh(ours)).toBeDefined();
    expect(bh(ours)).toBe(bh(theirs));
  });
});

describe('DKIM: canonicalization agrees with nodemailer and mailauth on arbitrary whitespace', () => {
  const line = fc
    .array(fc.constantFrom('a', 'é', ' ', '\t'), { maxLength: 12 })
    .map((chars) => chars.join(''));
  const lines = fc.array(line, { maxLength: 6 });

  it("relaxed body hash equals nodemailer's", async () => {
    await fc.assert(
      fc.asyncProperty(lines, async (body) => {
        const raw = `From: a@pass.test\r\n\r\n${body.join('\r\n')}`;
        const signer = new DKIM({
          domainName: 'pass.test',
          keySelector: 'x',
          privateKey: rsa.privateKey,
        });
        const bh = (signed: string) => /\bbh=([^;\s]+)/.exec(signed)?.[1];
        expect(bh(signDkim(raw, rsa))).toBe(bh(await text(signer.sign(raw))));
      }),
      { numRuns: 200 },
    );
  });

  it('every canonicalization of a whitespace-laden header and body passes in mailauth', async () => {
    const canonicalization = fc.constantFrom<DkimCanonicalization>(
      'relaxed/relaxed',
      'simple/simple',
      'relaxed/simple',
      'simple/relaxed',
    );
    await fc.assert(
      fc.asyncProperty(lines, line, canonicalization, async (body, subject, c) => {
        // A folded Subject with arbitrary whitespace around and inside its value.
        const raw = `From: a@pass.test\r\nSubject:${subject}\r\n\t${subject}x\r\n\r\n${body.join('\r\n')}`;
        const signed = signDkim(raw, {
          ...ed25519,
          canonicalization: c,
          headers: ['from', 'subject'],
        });
        expect((await verifyOne(signed)).status.result).toBe('pass');
      }),
      { numRuns: 40 },
    );
  });
});

describe('DKIM: what mailauth reports when a signature should not pass', () => {
  it('body changed after signing: neutral "body hash did not verify" (fail only in strict mode)', async () => {
    const changed = signDkim(message(), rsa).replace('second line', 'second LINE');
    // mailauth: the lenient default says neutral, not fail, for a body hash mismatch.
    const lenient = await verifyOne(changed);
    expect(lenient.status.result).toBe('neutral');
    expect(lenient.status.comment).toBe('body hash did not verify');
    const strict = await verifyOne(changed, true);
    expect(strict.status.result).toBe('fail');
  });

  it('l= with content appended after signing: pass, flagged as undersized', async () => {
    const signed = signDkim(message(), { ...rsa, bodyLength: 10 });
    const untouched = await verifyOne(signed);
    expect(untouched.status.result).toBe('pass');
    expect(untouched.canonBodyLengthLimited).toBe(true);
    expect(untouched.canonBodyLengthLimit).toBe(10);
    expect(untouched.status.underSized).toBe(14); // "second line\r\n" was left unsigned

    // mailauth: still pass; the only warnings are underSized and a comment in the
    // Authentication-Results text (status.comment stays unset). 37 = the 14
    // above, the trailing empty line (no longer trailing, so counted) and the 21 appended.
    const appended = await verifyOne(`${signed}Click here to claim\r\n`);
    expect(appended.status.result).toBe('pass');
    expect(appended.status.underSized).toBe(37);
    expect(appended.status.comment).toBeUndefined();
    expect(appended.info).toMatch(/^dkim=pass \(undersized signature: 37 bytes unsigned\) /);
  });

  it('unsigned headers reordered: pass; a signed header changed: fail "bad signature"', async () => {
    const signed = signDkim(message(), rsa);
    const reordered = signed.replace('X-Unsigned: 1\r\nX-Other: 2', 'X-Other: 2\r\nX-Unsigned: 1');
    expect(reordered).not.toBe(signed);
    expect((await verifyOne(reordered)).status.result).toBe('pass');
    const changed = await verifyOne(signed.replace('hello   there', 'hello   THERE'));
    expect(changed.status.result).toBe('fail');
    expect(changed.status.comment).toBe('bad signature');
  });

  it('a second From above the signed one: pass, but fromFields is 2 (DMARC is skipped)', async () => {
    const signed = signDkim(message('a@reject.test'), { ...rsa, domain: 'reject.test' });
    const forged = signed.replace('\r\nFrom: ', '\r\nFrom: ceo@evil.test\r\nFrom: ');
    // mailauth: the signature checks the bottom-most From (RFC 6376 §5.4.2), so it passes...
    const dkim = await verifyOne(forged);
    expect(dkim.status.result).toBe('pass');
    expect(dkim.fromFields).toBe(2);
    expect(dkim.headerFrom).toEqual(['ceo@evil.test', 'a@reject.test']);
    // ...and authenticate() refuses to evaluate DMARC for it rather than pass it.
    const all = await authenticateFrom(forged, STRANGER, 'x@other.test');
    expect(all.dmarc).toBe(false);
    expect(all.dmarcSkipReason).toBe('multiple-from-fields');
  });

  it('a second From below the signed one: fail; oversigning (h=from:from) fails it either way', async () => {
    const addFromBelow = (signed: string) =>
      signed.replace('\r\n\r\nbody', '\r\nFrom: ceo@evil.test\r\n\r\nbody');
    const plain = await verifyOne(addFromBelow(signDkim(message(), rsa)));
    expect(plain.status.result).toBe('fail');
    const oversigned = signDkim(message(), { ...rsa, headers: ['from', 'from', 'to', 'subject'] });
    expect((await verifyOne(oversigned)).status.result).toBe('pass');
    const above = oversigned.replace('\r\nFrom: ', '\r\nFrom: ceo@evil.test\r\nFrom: ');
    expect((await verifyOne(above)).status.result).toBe('fail');
    expect((await verifyOne(addFromBelow(oversigned))).status.result).toBe('fail');
  });

  it('x= in the past: neutral "expired", in both modes', async () => {
    const day = 86_400_000;
    const signed = signDkim(message(), {
      ...rsa,
      signedAt: new Date(Date.now() - 2 * day),
      expiresAt: new Date(Date.now() - day),
    });
    for (const strict of [false, true]) {
      const result = await verifyOne(signed, strict);
      expect(result.status.result).toBe('neutral');
      expect(result.status.comment).toBe('expired');
      expect(result.signatureTimeValid).toBe(false);
    }
  });

  it('t= in the future: mailauth still says pass, only signatureTimeValid is false', async () => {
    const signed = signDkim(message(), { ...rsa, signedAt: new Date(Date.now() + 2 * 86_400_000) });
    const result = await verifyOne(signed);
    expect(result.status.result).toBe('pass');
    expect(result.signatureTimeValid).toBe(false);
  });

  it('an RSA-512 key: policy, dkim-rules=weak-key', async () => {
    const result = await verifyOne(signDkim(message(), rsa512));
    expect(result.status.result).toBe('policy');
    expect(result.status.policy).toEqual({ 'dkim-rules': 'weak-key' });
  });

  it('no key at the selector: neutral "no key"', async () => {
    const result = await verifyOne(signDkim(message(), { ...rsa, selector: 'missing' }));
    expect(result.status.result).toBe('neutral');
    expect(result.status.comment).toBe('no key');
  });
});

describe('SPF records of the zone', () => {
  const cases: [domain: string, ip: string, result: string, comment?: RegExp][] = [
    ['pass.test', fx.clientAddress, 'pass'],
    ['pass.test', STRANGER, 'fail'],
    ['include.test', fx.clientAddress, 'pass'],
    ['include.test', STRANGER, 'fail'],
    ['redirect.test', fx.clientAddress, 'pass'],
    ['redirect.test', STRANGER, 'fail'],
    ['ptr.test', fx.clientAddress, 'pass'],
    // 127.0.0.8's PTR names forged.ptr.test, which does not resolve back to it.
    ['ptr.test', fx.unconfirmedAddress, 'fail'],
    ['fail.test', fx.clientAddress, 'fail'],
    ['softfail.test', fx.clientAddress, 'softfail'],
    ['neutral.test', fx.clientAddress, 'neutral'],
    // mailauth: permerror in the lenient default too, not a warning.
    ['voidlookups.test', fx.clientAddress, 'permerror', /Too many void DNS results/],
    // mailauth: the loop is stopped by the 10-lookup limit, not by loop detection.
    ['loop.test', fx.clientAddress, 'permerror', /Too many DNS requests/],
    ['toomany.test', fx.clientAddress, 'permerror', /Too many DNS requests/],
    ['twospf.test', fx.clientAddress, 'permerror', /multiple SPF records found/],
    ['implicitmx.test', fx.clientAddress, 'none'],
    ['nonexistent.test', fx.clientAddress, 'none'],
  ];
  for (const [domain, ip, expected, comment] of cases) {
    it(`${domain} from ${ip}: ${expected}`, async () => {
      const result = await spf({
        sender: `x@${domain}`,
        ip,
        helo: 'h.test',
        mta: 'mx.test',
        resolver,
      });
      expect(result.status.result).toBe(expected);
      if (comment !== undefined) expect(result.status.comment).toMatch(comment);
    });
  }
});

describe('DMARC records of the zone', () => {
  const signedBy = (from: string, domain: string) => signDkim(message(from), { ...rsa, domain });

  it('reject.test: aligned DKIM passes, aligned SPF passes, neither fails with policy reject', async () => {
    const dkim = await authenticateFrom(
      signedBy('a@reject.test', 'reject.test'),
      STRANGER,
      'x@other.test',
    );
    expect(dkim.dmarc).toMatchObject({ status: { result: 'pass' }, policy: 'reject' });
    const spfOnly = await authenticateFrom(
      message('a@reject.test'),
      fx.clientAddress,
      'b@reject.test',
    );
    expect(spfOnly.dmarc).toMatchObject({ status: { result: 'pass' }, policy: 'reject' });
    const neither = await authenticateFrom(message('a@reject.test'), STRANGER, 'b@reject.test');
    expect(neither.dmarc).toMatchObject({
      status: { result: 'fail', policy: { dmarc: 'reject' } },
      policy: 'reject',
      rr: 'v=DMARC1; p=reject',
    });
  });

  it('quarantine.test: fail with policy quarantine; mailauth ignores pct=50 (RFC 9989 dropped it)', async () => {
    const all = await authenticateFrom(message('a@quarantine.test'), STRANGER, 'b@quarantine.test');
    expect(all.dmarc).toMatchObject({ status: { result: 'fail' }, policy: 'quarantine' });
    expect(all.dmarc && Object.keys(all.dmarc)).not.toContain('pct');
  });

  it('none.test: fail with policy none', async () => {
    const all = await authenticateFrom(message('a@none.test'), STRANGER, 'b@none.test');
    expect(all.dmarc).toMatchObject({ status: { result: 'fail' }, policy: 'none' });
  });

  it("sub.parent.test: no record of its own, so parent.test's sp=reject applies", async () => {
    const fail = await authenticateFrom(
      message('a@sub.parent.test'),
      STRANGER,
      'b@sub.parent.test',
    );
    expect(fail.dmarc).toMatchObject({
      status: { result: 'fail' },
      policy: 'reject',
      policyDomain: 'parent.test',
      p: 'none',
      sp: 'reject',
    });
    // Relaxed alignment: d=parent.test aligns with From sub.parent.test.
    const signed = signedBy('a@sub.parent.test', 'parent.test');
    const pass = await authenticateFrom(signed, STRANGER, 'b@other.test');
    expect(pass.dmarc).toMatchObject({ status: { result: 'pass' }, policy: 'reject' });
    // mailauth: a subdomain that does not exist gets sp too (the record has no np=).
    const missing = await authenticateFrom(message('a@nosuch.parent.test'), STRANGER, 'b@x.test');
    expect(missing.dmarc).toMatchObject({ status: { result: 'fail' }, policy: 'reject' });
  });

  it('strict.test: d= and MAIL FROM at mail.strict.test pass themselves but do not align', async () => {
    const signed = signedBy('a@strict.test', 'mail.strict.test');
    const sub = await authenticateFrom(signed, fx.clientAddress, 'b@mail.strict.test');
    expect(sub.dkim.results[0]?.status).toMatchObject({ result: 'pass', aligned: false });
    expect(sub.spf).toMatchObject({ status: { result: 'pass' } });
    expect(sub.dmarc).toMatchObject({
      status: { result: 'fail' },
      policy: 'reject',
      alignment: { spf: { strict: true }, dkim: { strict: true } },
    });
    const exact = await authenticateFrom(
      signedBy('a@strict.test', 'strict.test'),
      STRANGER,
      'b@x.test',
    );
    expect(exact.dmarc).toMatchObject({
      status: { result: 'pass' },
      alignment: { dkim: { result: 'strict.test', strict: true } },
    });
  });

  it('l= with appended content still passes DMARC; underSized is carried into alignment', async () => {
    const signed = signDkim(message('a@reject.test'), {
      ...rsa,
      domain: 'reject.test',
      bodyLength: 10,
    });
    const all = await authenticateFrom(`${signed}more\r\n`, STRANGER, 'x@other.test');
    expect(all.dmarc).toMatchObject({
      status: { result: 'pass' },
      // 14 unsigned of the original body, its trailing empty line and "more" with its CRLF.
      alignment: { dkim: { result: 'reject.test', underSized: 22 } },
    });
  });
});

describe('ARC (sealed with mailauth itself: chain validation only)', () => {
  const hop1 = async () =>
    sealArc(signDkim(message(), rsa), {
      key: arcKey,
      cv: 'none',
      authResults: 'forwarder.test; dkim=pass header.d=pass.test',
    });

  it('one sealed hop: arc pass; a second hop with cv=pass: arc pass at i=2', async () => {
    const sealed = await hop1();
    const one = await authenticateFrom(sealed, STRANGER, 'x@other.test');
    expect(one.arc).toMatchObject({ status: { result: 'pass' }, i: 1 });
    const two = await authenticateFrom(
      await sealArc(sealed, { key: arcKey, cv: 'pass' }),
      STRANGER,
      'x@other.test',
    );
    expect(two.arc).toMatchObject({ status: { result: 'pass' }, i: 2 });
  });

  it('body changed after sealing: arc fail "no valid signature"', async () => {
    const all = await authenticateFrom(changeBodyAfterSealing(await hop1()), STRANGER, 'x@o.test');
    expect(all.arc).toMatchObject({
      status: { result: 'fail', comment: 'i=1 no valid signature' },
    });
  });

  it('ARC-Seal tampered: arc fail, even under a later seal that claims cv=pass', async () => {
    const tampered = tamperArcSeal(await hop1());
    const all = await authenticateFrom(tampered, STRANGER, 'x@other.test');
    expect(all.arc).toMatchObject({
      status: { result: 'fail', comment: 'i=1 seal signature validation failed' },
    });
    const resealed = await sealArc(tampered, { key: arcKey, cv: 'pass' });
    const later = await authenticateFrom(resealed, STRANGER, 'x@other.test');
    expect(later.arc).toMatchObject({ status: { result: 'fail' }, i: 2 });
  });

  it('no ARC headers: arc none', async () => {
    const all = await authenticateFrom(signDkim(message(), rsa), STRANGER, 'x@other.test');
    expect(all.arc).toMatchObject({ status: { result: 'none' } });
  });
});

describe('MX and PTR records of the zone', () => {
  it('pass.test has an MX; nullmx.test has MX 0 . (RFC 7505); implicitmx.test has only A', async () => {
    expect(await dns.resolveMx('pass.test')).toEqual([{ exchange: 'mx.pass.test', priority: 10 }]);
    // node:dns gives the root name "." as an empty exchange.
    expect(await dns.resolveMx('nullmx.test')).toEqual([{ exchange: '', priority: 0 }]);
    await expect(dns.resolveMx('implicitmx.test')).rejects.toMatchObject({ code: 'ENODATA' });
    expect(await dns.resolve4('implicitmx.test')).toEqual([fx.clientAddress]);
  });

  it('127.0.0.7 forward-confirms; 127.0.0.8 does not', async () => {
    const [confirmed] = await dns.reverse(fx.clientAddress);
    expect(confirmed).toBe('mta.ptr.test');
    expect(await dns.resolve4(confirmed!)).toEqual([fx.clientAddress]);
    const [unconfirmed] = await dns.reverse(fx.unconfirmedAddress);
    expect(unconfirmed).toBe('forged.ptr.test');
    expect(await dns.resolve4(unconfirmed!)).not.toContain(fx.unconfirmedAddress);
  });
});
