// Which TLS a destination domain gets from the setting and its MTA-STS policy, and how a policy's
// MX patterns match host names (RFC 8461 §4.1).
import { describe, expect, it } from 'vitest';
import { combine } from '../../../../gateway/outbound/delivery-tls.ts';
import { policyListsHost, type StsPolicy } from '../../../../gateway/outbound/mta-sts.ts';

const policy = (mode: StsPolicy['mode'], mx: string[] = ['mx.example.com']): StsPolicy => ({
  id: '1',
  mode,
  mx,
  expiresAt: Number.POSITIVE_INFINITY,
});

describe('combine', () => {
  it('is opportunistic with neither a setting nor a policy', () => {
    expect(combine('opportunistic', null)).toEqual({
      level: 'opportunistic',
      policy: 'opportunistic',
      sts: null,
    });
  });

  it('takes verify from an enforce policy, whatever the setting says', () => {
    for (const configured of ['opportunistic', 'encrypt', 'verify'] as const) {
      expect(combine(configured, policy('enforce'))).toMatchObject({
        level: 'verify',
        policy: 'mta-sts enforce',
      });
    }
  });

  it('keeps the setting under a testing policy, naming both', () => {
    expect(combine('opportunistic', policy('testing'))).toMatchObject({
      level: 'opportunistic',
      policy: 'mta-sts testing',
    });
    expect(combine('encrypt', policy('testing'))).toMatchObject({
      level: 'encrypt',
      policy: 'setting encrypt, mta-sts testing',
    });
  });

  it('names the setting alone when there is no policy', () => {
    expect(combine('verify', null)).toMatchObject({ level: 'verify', policy: 'setting verify' });
  });
});

describe('policyListsHost', () => {
  it('matches names exactly, any case, with or without the trailing dot', () => {
    const enforce = policy('enforce', ['mx.example.com']);
    expect(policyListsHost(enforce, 'mx.example.com')).toBe(true);
    expect(policyListsHost(enforce, 'MX.Example.com.')).toBe(true);
    expect(policyListsHost(enforce, 'mx2.example.com')).toBe(false);
    expect(policyListsHost(enforce, 'example.com')).toBe(false);
  });

  it('lets a wildcard stand for exactly one left-most label', () => {
    const enforce = policy('enforce', ['*.example.net']);
    expect(policyListsHost(enforce, 'mx1.example.net')).toBe(true);
    expect(policyListsHost(enforce, 'a.b.example.net')).toBe(false);
    expect(policyListsHost(enforce, 'example.net')).toBe(false);
  });
});
