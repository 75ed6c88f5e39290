// The options of a verification, checked once so a mistake names the option instead of failing every request.
import { MxhookError } from './errors.ts';
import type { RemoteJwksOptions } from './keys.ts';
import type { SeenIdStore } from './replay.ts';
import { STEPS, type Step } from './wire.ts';

/** How long a request stays valid around its `timestamp` unless told otherwise: 5 minutes. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * The largest body read before the signature is checked unless told otherwise: 64 MiB. The
 * gateway's largest call is a `data` call at its default MXHOOK_MAX_MESSAGE_SIZE of 10 MiB:
 * `raw` is that in base64 (4/3, 13.4 MiB), and the parsed copy repeats the content at most once
 * more, as base64 attachments (13.4 MiB) or as JSON strings of text and HTML (up to 2 × 10 MiB
 * each, where quotes and backslashes are escaped): about 54 MiB in all, so 64 MiB leaves room.
 * A gateway with a larger MXHOOK_MAX_MESSAGE_SIZE needs about 6.4 times it.
 */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** What a verification checks besides the signature. */
export interface VerifyOptions<S extends Step = Step> {
  /**
   * How far `timestamp` may be from now, either way, in seconds. Default 300. It also bounds how
   * long a replay store must remember an id.
   */
  readonly toleranceSeconds?: number;
  /**
   * The URL(s) this function answers on. A request passes when its `audience` equals one of them,
   * or equals one of them followed by `/<step>`, ignoring trailing slashes; so the value you gave
   * the gateway as `MXHOOK_FUNCTION_URL` works as is. Not checked when absent.
   */
  readonly audience?: string | readonly string[];
  /** Refuses a request whose `id` was already seen (see `MemorySeenIdStore`). */
  readonly replay?: SeenIdStore;
  /** The step the request must be for, such as the route it arrived on. */
  readonly step?: S;
  /** The clock, in unix seconds; for tests. */
  readonly now?: () => number;
  /** How a JWKS given by URL is fetched. */
  readonly remoteJwks?: RemoteJwksOptions;
  /**
   * The largest body read, in bytes; a larger one is refused with `ERR_BODY_TOO_LARGE` (answer
   * 413) before it is buffered. Default {@link DEFAULT_MAX_BODY_BYTES} (64 MiB).
   */
  readonly maxBodyBytes?: number;
}

/** Options after checking, with defaults applied. */
export interface CheckedVerifyOptions {
  readonly toleranceSeconds: number;
  readonly audiences: readonly string[] | null;
  readonly replay: SeenIdStore | null;
  readonly step: Step | null;
  readonly now: () => number;
  readonly remoteJwks: RemoteJwksOptions | undefined;
  readonly maxBodyBytes: number;
}

function optionError(name: string, expected: string): MxhookError<'ERR_OPTION_INVALID'> {
  return new MxhookError('ERR_OPTION_INVALID', `option "${name}" must be ${expected}`);
}

function checkAudiences(audience: unknown): readonly string[] | null {
  if (audience === undefined) return null;
  const list = typeof audience === 'string' ? [audience] : audience;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((entry) => typeof entry === 'string' && entry !== '')
  ) {
    throw optionError('audience', 'a non-empty string or a non-empty array of them');
  }
  return Object.freeze([...list]);
}

/**
 * Validates verification options and fills in defaults; throws `ERR_OPTION_INVALID` naming the option.
 *
 * @example
 * ```ts
 * checkVerifyOptions({ toleranceSeconds: -1 }); // throws: option "toleranceSeconds" must be …
 * ```
 */
export function checkVerifyOptions(options: VerifyOptions = {}): CheckedVerifyOptions {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object');
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (
    typeof toleranceSeconds !== 'number' ||
    !Number.isFinite(toleranceSeconds) ||
    toleranceSeconds <= 0
  ) {
    throw optionError('toleranceSeconds', 'a positive number of seconds');
  }
  const replay = options.replay ?? null;
  if (replay !== null && typeof replay?.markSeen !== 'function') {
    throw optionError('replay', 'a SeenIdStore (an object with markSeen(id, expiresAtSeconds))');
  }
  const step = options.step ?? null;
  if (step !== null && !(STEPS as readonly string[]).includes(step)) {
    throw optionError('step', `one of ${STEPS.join(', ')}`);
  }
  const now = options.now ?? (() => Date.now() / 1000);
  if (typeof now !== 'function') throw optionError('now', 'a function returning unix seconds');
  if (
    options.remoteJwks !== undefined &&
    (typeof options.remoteJwks !== 'object' || options.remoteJwks === null)
  ) {
    throw optionError('remoteJwks', 'an object');
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw optionError('maxBodyBytes', 'a positive whole number of bytes');
  }
  return {
    toleranceSeconds,
    audiences: checkAudiences(options.audience),
    replay,
    step,
    now,
    remoteJwks: options.remoteJwks,
    maxBodyBytes,
  };
}
