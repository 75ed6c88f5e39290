// The gateway's authentication verdicts in the example Worker: DMARC p=reject refused at DATA, and
// the verdicts the inbox shows, taken from the signed call and never from the message's headers.
import { describe, expect, it } from 'vitest';
import type { Authentication, DataRequest } from '../../functions/sdk/index.ts';
import { createApp } from '../../functions/worker/app.ts';
import type { Bindings } from '../../functions/worker/env.ts';
import { dataPayload, deliver, fakeEnv, hmacKey, signedRequest } from './helpers.ts';

const app = createApp();

const PASSING: Authentication = {
  rdns: { result: 'pass', hostname: 'mail.sender.test', names: ['mail.sender.test'] },
  spf: { result: 'pass', domain: 'sender.test', identity: 'mailfrom' },
  sender: { domain: 'sender.test', acceptsMail: true, reason: 'mx' },
  dkim: [
    {
      result: 'pass',
      domain: 'sender.test',
      selector: 'sel2026',
      algorithm: 'ed25519-sha256',
      aligned: true,
    },
  ],
  dmarc: {
    result: 'pass',
    domain: 'sender.test',
    policy: 'reject',
    percent: null,
    aligned: { spf: true, dkim: true },
  },
  arc: { result: 'none', instances: 0 },
  header: 'mx.inbox.test; iprev=pass; spf=pass; dkim=pass; dmarc=pass',
};

/** A message that fails DMARC under the From domain's p=reject: SPF fails, nothing signed. */
const FAILING: Authentication = {
  spf: { result: 'fail', domain: 'sender.test', identity: 'mailfrom' },
  dkim: [],
  dmarc: { ...PASSING.dmarc!, result: 'fail', aligned: { spf: false, dkim: false } },
};

function withVerdicts(
  authentication: Authentication,
  fields?: Parameters<typeof dataPayload>[0],
): DataRequest {
  return { ...dataPayload(fields), authentication };
}

async function answer(payload: DataRequest, bindings: Bindings) {
  const response = await app.request(
    await signedRequest(payload, await hmacKey()),
    undefined,
    bindings,
  );
  return { status: response.status, body: await response.json() };
}

async function page(path: string, bindings: Bindings): Promise<string> {
  return (await app.request(path, undefined, bindings)).text();
}

/** The list row of a message, from its link to the end of the row. */
function listRow(list: string, id: string): string {
  const start = list.indexOf(`href="/messages/${id}"`);
  return list.slice(start, list.indexOf('</tr>', start));
}

/** The message page's Authentication block. */
function verdictBlock(message: string): string {
  const start = message.indexOf('<h2>Authentication</h2>');
  return message.slice(start, message.indexOf('<nav class="tabs"', start));
}

describe('DATA and the From domain’s DMARC policy', () => {
  it('refuses a DMARC failure under p=reject with 550 5.7.1 and stores nothing', async () => {
    const bindings = fakeEnv();
    const { status, body } = await answer(withVerdicts(FAILING), bindings);
    expect(status).toBe(200);
    expect(body).toEqual({
      code: 550,
      enhanced: '5.7.1',
      message: 'Message fails the DMARC policy (p=reject) of its From domain',
    });
    expect(bindings.fakeMessages.values.size).toBe(0);
  });

  it.each([
    ['under p=quarantine', { dmarc: { ...FAILING.dmarc!, policy: 'quarantine' } }],
    [
      'when DMARC could not be checked (temperror)',
      { dmarc: { ...FAILING.dmarc!, result: 'temperror' } },
    ],
    ['without verdicts', undefined],
  ] as const)('accepts a message %s', async (_name, authentication) => {
    const payload = authentication === undefined ? dataPayload() : withVerdicts(authentication);
    const { body } = await answer(payload, fakeEnv());
    expect(body).toMatchObject({ action: 'accept' });
  });

  it('accepts and stores a DMARC failure under p=reject with REJECT_DMARC_FAILURES="false"', async () => {
    const bindings = fakeEnv({ REJECT_DMARC_FAILURES: 'false' });
    const id = await deliver(bindings, withVerdicts(FAILING));
    expect(listRow(await page('/', bindings), id)).toContain(
      '<span class="badge verdict-fail">DMARC fail</span>',
    );
  });
});

describe('the verdicts in the inbox', () => {
  it('shows a DMARC pass in the list and every verdict on the message page', async () => {
    const bindings = fakeEnv();
    const id = await deliver(bindings, withVerdicts(PASSING));
    const row = listRow(await page('/', bindings), id);
    for (const check of ['SPF', 'DKIM', 'DMARC']) {
      expect(row).toContain(`<span class="badge verdict-pass">${check} pass</span>`);
    }
    const block = verdictBlock(await page(`/messages/${id}`, bindings));
    expect(block).toContain(
      '<dt>Reverse DNS</dt><dd><span class="badge verdict-pass">pass</span> mail.sender.test</dd>',
    );
    expect(block).toContain('sender.test (MAIL FROM)');
    expect(block).toContain('sender.test: accepts mail (mx)');
    expect(block).toContain(
      '<span class="badge verdict-pass">pass</span> d=sender.test s=sel2026 ed25519-sha256 · aligned',
    );
    expect(block).toContain(
      '<span class="badge verdict-pass">pass</span> sender.test · policy reject · aligned: SPF yes, DKIM yes',
    );
    expect(block).toContain('<span class="badge verdict-neutral">none</span> 0 ARC sets');
  });

  it('says "not checked" for a message delivered without verdicts', async () => {
    const bindings = fakeEnv();
    const id = await deliver(bindings, dataPayload());
    expect(listRow(await page('/', bindings), id)).toContain('not checked');
    expect(verdictBlock(await page(`/messages/${id}`, bindings))).toContain(
      'Not checked: the gateway sent no verdicts for this message.',
    );
  });

  it('says "not checked" for a message stored before the inbox kept verdicts', async () => {
    const bindings = fakeEnv();
    const id = await deliver(bindings, withVerdicts(PASSING));
    // Strip what this version adds, as a record written by the previous one looks.
    const key = `msg:${id}`;
    const entry = bindings.fakeMessages.values.get(key)!;
    const { authentication: _verdicts, ...record } = JSON.parse(entry.value as string);
    const { verdicts: _summary, ...summary } = entry.metadata as Record<string, unknown>;
    bindings.fakeMessages.values.set(key, { value: JSON.stringify(record), metadata: summary });
    expect(listRow(await page('/', bindings), id)).toContain('not checked');
    expect(verdictBlock(await page(`/messages/${id}`, bindings))).toContain('Not checked');
  });

  it('shows only checks the gateway ran, the others as "not checked"', async () => {
    const bindings = fakeEnv({ REJECT_DMARC_FAILURES: 'false' });
    const id = await deliver(bindings, withVerdicts({ rdns: PASSING.rdns! }));
    expect(listRow(await page('/', bindings), id)).toContain('not checked');
    const block = verdictBlock(await page(`/messages/${id}`, bindings));
    expect(block).toContain('<dt>SPF</dt><dd><span class="note">not checked</span></dd>');
    expect(block).toContain('<dt>DMARC</dt><dd><span class="note">not checked</span></dd>');
  });

  it('trusts the signed verdicts, not an Authentication-Results header forged in the message', async () => {
    const bindings = fakeEnv({ REJECT_DMARC_FAILURES: 'false' });
    const forged = 'mx.inbox.test; spf=pass smtp.mailfrom=sender.test; dkim=pass; dmarc=pass';
    const payload = withVerdicts(FAILING, {
      rawText: `Authentication-Results: ${forged}\r\nSubject: Hello\r\nFrom: alice@sender.test\r\n\r\nHi\r\n`,
      headers: [
        { name: 'authentication-results', value: forged },
        { name: 'subject', value: 'Hello' },
      ],
    });
    const id = await deliver(bindings, payload);
    const row = listRow(await page('/', bindings), id);
    expect(row).toContain('<span class="badge verdict-fail">SPF fail</span>');
    expect(row).toContain('<span class="badge verdict-fail">DMARC fail</span>');
    expect(row).not.toContain('verdict-pass');
    const block = verdictBlock(await page(`/messages/${id}`, bindings));
    expect(block).toContain(
      '<span class="badge verdict-fail">fail</span> sender.test · policy reject',
    );
    expect(block).not.toContain('verdict-pass');
  });

  it('escapes what the verdicts carry from DNS and the message', async () => {
    const bindings = fakeEnv();
    const evil = '<img src=x onerror=alert(1)>';
    const id = await deliver(
      bindings,
      withVerdicts({
        dkim: [{ ...PASSING.dkim![0]!, selector: evil, result: 'fail', reason: evil }],
        rdns: { result: 'fail', hostname: null, names: [evil] },
      }),
    );
    const block = verdictBlock(await page(`/messages/${id}`, bindings));
    expect(block).not.toContain('<img');
    expect(block).toContain('s=&lt;img src=x onerror=alert(1)&gt;');
    expect(block).toContain('unconfirmed: &lt;img src=x onerror=alert(1)&gt;');
  });
});
