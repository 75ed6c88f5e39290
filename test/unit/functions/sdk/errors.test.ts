// The SDK's error type: a stable code, the cause passed on, a recognisable name.
import { describe, expect, it } from 'vitest';
import { MxhookError, MxhookVerifyError } from '../../../../functions/sdk/errors.ts';

describe('MxhookError', () => {
  it('carries its code, message and cause', () => {
    const cause = new Error('inner');
    const error = new MxhookError('ERR_KEY_INVALID', 'bad key', { cause });
    expect(error.code).toBe('ERR_KEY_INVALID');
    expect(error.message).toBe('bad key');
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('MxhookError');
    expect(error).toBeInstanceOf(Error);
  });

  it('leaves cause unset when there is none', () => {
    expect('cause' in new MxhookError('ERR_OPTION_INVALID', 'x')).toBe(false);
  });

  it('makes verification failures a subclass, so callers can answer 401 for exactly those', () => {
    const error = new MxhookVerifyError('ERR_REPLAYED', 'seen');
    expect(error).toBeInstanceOf(MxhookError);
    expect(error.name).toBe('MxhookVerifyError');
    expect(error.code).toBe('ERR_REPLAYED');
  });
});
