// MXHOOK_DELAY_WARNING: seconds before a still-queued recipient's sender gets a delay notice;
// 0 turns it off, anything that is not a number of seconds stops the start with one line naming it.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../gateway/config/load-config.ts';
import { ConfigError } from '../../../../gateway/errors.ts';

const load = (value: string) =>
  loadConfig({ env: { MXHOOK_DELAY_WARNING: value }, requireFunctionUrl: false });

describe('MXHOOK_DELAY_WARNING', () => {
  it('is 4 hours by default, in milliseconds', () => {
    expect(loadConfig({ env: {}, requireFunctionUrl: false }).delayWarningMs).toBe(14_400_000);
  });

  it('takes seconds, and 0 for off', () => {
    expect(load('3600').delayWarningMs).toBe(3_600_000);
    expect(load('0.5').delayWarningMs).toBe(500);
    expect(load('0').delayWarningMs).toBe(0);
  });

  it('refuses what is not a number of seconds, naming the variable', () => {
    for (const value of ['soon', '-1', '1h', '99999999']) {
      let error: unknown;
      try {
        load(value);
      } catch (caught) {
        error = caught;
      }
      expect(error, value).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('MXHOOK_DELAY_WARNING');
      expect((error as Error).message).toMatch(/^MXHOOK_DELAY_WARNING: /);
    }
  });
});
