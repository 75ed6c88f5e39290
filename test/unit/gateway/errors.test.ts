// The error base: stable codes, the cause kept, and ConfigError's one-line message naming the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, ERROR_CODES, MxhookError } from '../../../gateway/errors.ts';

describe('MxhookError', () => {
  it('carries its code, message and cause', () => {
    const cause = new Error('socket hang up');
    const error = new MxhookError('ERR_HOOK_NETWORK', 'function unreachable', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_HOOK_NETWORK');
    expect(error.message).toBe('function unreachable');
    expect(error.name).toBe('MxhookError');
    expect(error.cause).toBe(cause);
  });

  it('has no cause property when none is given', () => {
    const error = new MxhookError('ERR_SHUTTING_DOWN', 'gateway is shutting down');
    expect(Object.hasOwn(error, 'cause')).toBe(false);
  });

  it('lists every code the design names', () => {
    expect(ERROR_CODES).toEqual(
      expect.arrayContaining([
        'ERR_CONFIG_INVALID',
        'ERR_HOOK_TIMEOUT',
        'ERR_HOOK_NETWORK',
        'ERR_HOOK_STATUS',
        'ERR_HOOK_RESPONSE',
        'ERR_LISTEN_FAILED',
        'ERR_PROXY_HEADER_INVALID',
        'ERR_SHUTTING_DOWN',
      ]),
    );
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});

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
