// The helpers that read the gateway's authentication verdicts: dmarcFailsWithReject, verdictSummary.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dmarcFailsWithReject, verdictSummary } from '../../../../functions/sdk/authentication.ts';
import type { Authentication, DkimVerdict, DmarcVerdict } from '../../../../functions/sdk/wire.ts';
import { payloadFor } from './helpers.ts';

function dmarc(overrides: Partial<DmarcVerdict>): DmarcVerdict {
  return {
    result: 'fail',
    domain: 'sender.example',
    policy: 'reject',
    percent: null,
    aligned: { spf: false, dkim: false },
    ...overrides,
  };
}

function dkim(overrides: Partial<DkimVerdict>): DkimVerdict {
  return {
    result: 'pass',
    domain: 'sender.example',
    selector: 's1',
    algorithm: 'rsa-sha256',
    aligned: true,
    ...overrides,
  };
}

/** Every verdict, as the gateway sends them at the data step. */
const FULL: Authentication = {
  rdns: { result: 'pass', hostname: 'mail.sender.example', names: ['mail.sender.example'] },
  spf: { result: 'softfail', domain: 'sender.example', identity: 'mailfrom' },
  sender: { domain: 'sender.example', acceptsMail: true, reason: 'mx' },
  dkim: [dkim({})],
  dmarc: dmarc({ result: 'pass' }),
  arc: { result: 'none', instances: 0 },
};

const dataCall = (authentication?: Authentication) =>
  authentication === undefined ? payloadFor('data') : { ...payloadFor('data'), authentication };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('dmarcFailsWithReject', () => {
  it.each<[string, Authentication | undefined, boolean]>([
    ['no authentication at all', undefined, false],
    ['no DMARC verdict (not yet at this step, or the check is off)', { spf: FULL.spf }, false],
    ['fail under p=reject', { dmarc: dmarc({}) }, true],
    ['fail under p=quarantine', { dmarc: dmarc({ policy: 'quarantine' }) }, false],
    ['fail under p=none', { dmarc: dmarc({ policy: 'none' }) }, false],
    ['pass under p=reject', { dmarc: dmarc({ result: 'pass' }) }, false],
    [
      'temperror under p=reject (the DNS lookup failed)',
      { dmarc: dmarc({ result: 'temperror' }) },
      false,
    ],
    ['permerror under p=reject', { dmarc: dmarc({ result: 'permerror' }) }, false],
    ['none: no DMARC record', { dmarc: dmarc({ result: 'none', policy: null }) }, false],
    [
      'fail under p=reject with pct=0, percent not honoured',
      { dmarc: dmarc({ percent: 0 }) },
      true,
    ],
  ])('%s → %s', (_name, authentication, expected) => {
    expect(dmarcFailsWithReject(dataCall(authentication))).toBe(expected);
  });

  it('works on the request of any step', () => {
    const mail = { ...payloadFor('mail'), authentication: { dmarc: dmarc({}) } };
    expect(dmarcFailsWithReject(mail)).toBe(true);
    expect(dmarcFailsWithReject(payloadFor('connect'))).toBe(false);
  });

  it.each<[number | null, number, boolean]>([
    [20, 0.19, true],
    [20, 0.2, false],
    [0, 0, false],
    [100, 0.999, true],
    [null, 0.999, true],
  ])('with honourPercent, pct=%s and a draw of %s → %s', (percent, draw, expected) => {
    vi.spyOn(Math, 'random').mockReturnValue(draw);
    const call = dataCall({ dmarc: dmarc({ percent }) });
    expect(dmarcFailsWithReject(call, { honourPercent: true })).toBe(expected);
  });

  it('draws nothing when the message did not fail under p=reject', () => {
    const random = vi.spyOn(Math, 'random');
    dmarcFailsWithReject(dataCall({ dmarc: dmarc({ result: 'pass' }) }), { honourPercent: true });
    expect(random).not.toHaveBeenCalled();
  });
});

describe('verdictSummary', () => {
  const nothing = {
    rdns: null,
    spf: null,
    dkim: null,
    dmarc: null,
    arc: null,
    senderAcceptsMail: null,
  };

  it.each<[string, Authentication | undefined, Partial<ReturnType<typeof verdictSummary>>]>([
    ['no authentication at all', undefined, {}],
    [
      'every verdict',
      FULL,
      {
        rdns: 'pass',
        spf: 'softfail',
        dkim: 'pass',
        dmarc: 'pass',
        arc: 'none',
        senderAcceptsMail: true,
      },
    ],
    ['the connect step: reverse DNS only', { rdns: FULL.rdns! }, { rdns: 'pass' }],
    [
      'a sender domain with a null MX',
      { sender: { domain: 'sender.example', acceptsMail: false, reason: 'null-mx' } },
      { senderAcceptsMail: false },
    ],
    ['the null sender', { sender: { domain: null, acceptsMail: null, reason: 'null-sender' } }, {}],
    ['a message without DKIM signatures', { dkim: [] }, { dkim: 'none' }],
    [
      'a passing signature after a failing one, unaligned',
      { dkim: [dkim({ result: 'fail' }), dkim({ result: 'pass', aligned: false })] },
      { dkim: 'pass' },
    ],
    [
      'a temperror and a fail',
      { dkim: [dkim({ result: 'fail' }), dkim({ result: 'temperror' })] },
      { dkim: 'temperror' },
    ],
    [
      'a policy and a fail',
      { dkim: [dkim({ result: 'fail' }), dkim({ result: 'policy' })] },
      { dkim: 'policy' },
    ],
    ['DMARC fail under p=reject', { dmarc: dmarc({}) }, { dmarc: 'fail' }],
    ['DMARC temperror', { dmarc: dmarc({ result: 'temperror' }) }, { dmarc: 'temperror' }],
  ])('%s', (_name, authentication, expected) => {
    expect(verdictSummary(dataCall(authentication))).toEqual({ ...nothing, ...expected });
  });
});
