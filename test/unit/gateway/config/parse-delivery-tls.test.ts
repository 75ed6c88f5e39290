// MXHOOK_DELIVERY_TLS: `domain:level` entries and `*`, and the one-line errors for what is wrong.
import { describe, expect, it } from 'vitest';
import { parseDeliveryTls, settingLevel } from '../../../../gateway/config/parse-delivery-tls.ts';
import { ConfigError } from '../../../../gateway/errors.ts';

function problem(text: string): string {
  try {
    parseDeliveryTls(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseDeliveryTls', () => {
  it('is opportunistic everywhere when empty', () => {
    expect(parseDeliveryTls('')).toEqual({ rules: [], otherwise: 'opportunistic' });
  });

  it('reads domains, levels in any case, IDNs and `*`', () => {
    const setting = parseDeliveryTls(
      'Example.COM.:verify, partner.org:Encrypt, bücher.example:verify, *:encrypt',
    );
    expect(setting).toEqual({
      rules: [
        { domain: 'example.com', level: 'verify' },
        { domain: 'partner.org', level: 'encrypt' },
        { domain: 'xn--bcher-kva.example', level: 'verify' },
      ],
      otherwise: 'encrypt',
    });
    expect(settingLevel(setting, 'EXAMPLE.com')).toBe('verify');
    expect(settingLevel(setting, 'sub.example.com')).toBe('encrypt');
    expect(settingLevel(setting, 'bücher.example')).toBe('verify');
  });

  it('refuses what it cannot read, naming the variable', () => {
    expect(problem('example.com')).toBe('MXHOOK_DELIVERY_TLS: "example.com" is not domain:level');
    expect(problem('example.com:strict')).toBe(
      'MXHOOK_DELIVERY_TLS: "strict" in "example.com:strict" is not a TLS level (opportunistic, encrypt, verify)',
    );
    expect(problem('a.test:verify,A.test:encrypt')).toBe(
      'MXHOOK_DELIVERY_TLS: a.test is listed twice; give one level per domain',
    );
    expect(problem('*:verify,*:encrypt')).toMatch(/\* is listed twice/);
    expect(problem(':verify')).toMatch(/"" in ":verify" is not a domain name/);
    expect(problem('a.test:verify,,b.test:verify')).toMatch(/empty entry/);
  });
});
