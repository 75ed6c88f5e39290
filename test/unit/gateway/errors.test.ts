// ConfigError on the one error base (tested in test/unit/functions/sdk/): a line naming the variable.
import { describe, expect, it } from 'vitest';
import { MxhookError } from '../../../functions/sdk/errors.ts';
import { ConfigError } from '../../../gateway/errors.ts';

describe('ConfigError', () => {
  it('names the variable in a one-line message with code ERR_CONFIG_INVALID', () => {
    const error = new ConfigError(
      'MXHOOK_MAX_MESSAGE_SIZE',
      '"ten" is not a whole number of bytes',
    );
    expect(error).toBeInstanceOf(MxhookError);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.variable).toBe('MXHOOK_MAX_MESSAGE_SIZE');
    expect(error.name).toBe('ConfigError');
    expect(error.message).toBe('MXHOOK_MAX_MESSAGE_SIZE: "ten" is not a whole number of bytes');
  });

  it('passes the cause on', () => {
    const cause = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    const error = new ConfigError('MXHOOK_TLS_CERT', 'cannot read /x.pem (ENOENT)', { cause });
    expect(error.cause).toBe(cause);
  });
});
