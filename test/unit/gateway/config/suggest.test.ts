// "Did you mean …?": the nearest known name, offered only when it is plausibly what was meant.
import { describe, expect, it } from 'vitest';
import { closest } from '../../../../gateway/config/suggest.ts';

const NAMES = ['MXHOOK_LISTEN', 'MXHOOK_HTTP_LISTEN', 'MXHOOK_PAYLOAD', 'MXHOOK_MAX_RECIPIENTS'];

describe('closest', () => {
  it.each([
    ['MXHOOK_LISTN', 'MXHOOK_LISTEN'],
    ['MXHOOK_HTTPLISTEN', 'MXHOOK_HTTP_LISTEN'],
    ['MXHOOK_PAYLAOD', 'MXHOOK_PAYLOAD'],
    ['MXHOOK_MAX_RECIPIENT', 'MXHOOK_MAX_RECIPIENTS'],
    ['MXHOOK_LISTEN', 'MXHOOK_LISTEN'],
  ])('suggests %s → %s', (input, expected) => {
    expect(closest(input, NAMES)).toBe(expected);
  });

  it.each(['MXHOOK_COLOUR', 'X', 'MXHOOK_VERBOSE_LOGGING_OUTPUT'])(
    'has nothing for %s',
    (input) => {
      expect(closest(input, NAMES)).toBeUndefined();
    },
  );
});
