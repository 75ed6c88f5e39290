// Decodes a verified body into a typed step request, refusing anything that is not a v1 mxhook call.
import { MxhookVerifyError } from './errors.ts';
import { STEPS, type Step, type StepRequest, WIRE_VERSION } from './wire.ts';

// The member each step adds to the common fields (wire.ts); a body without it is not that step.
const STEP_MEMBER: Readonly<Record<Step, string | null>> = {
  connect: null,
  helo: 'helo',
  auth: 'auth',
  mail: 'mailFrom',
  rcpt: 'rcpt',
  data: 'message',
};

export function malformed(message: string, cause?: unknown): MxhookVerifyError {
  return new MxhookVerifyError('ERR_BODY_MALFORMED', message, { cause });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStep(value: unknown): value is Step {
  return typeof value === 'string' && (STEPS as readonly string[]).includes(value);
}

/**
 * Parses the signed body of any gateway call (a step or a delivery report) into a JSON object and
 * checks the members every call has: `v`, then `step` (with `checkStep`, which throws for a step
 * the caller does not take), `id`, `timestamp` and `audience`, in that order.
 */
export function parseCallBody(
  body: Uint8Array,
  checkStep: (step: unknown) => void,
): Record<string, unknown> {
  let value: unknown;
  try {
    // fatal: a body that is not UTF-8 is not JSON (RFC 8259 §8.1), not something to patch up.
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body));
  } catch (cause) {
    throw malformed('the body is not UTF-8 JSON', cause);
  }
  if (!isRecord(value)) throw malformed('the body is not a JSON object');
  if (value.v !== WIRE_VERSION)
    throw malformed(`unsupported wire version ${JSON.stringify(value.v)}`);
  checkStep(value.step);
  if (typeof value.id !== 'string' || value.id === '')
    throw malformed('"id" must be a non-empty string');
  if (typeof value.timestamp !== 'number' || !Number.isFinite(value.timestamp))
    throw malformed('"timestamp" must be a number of seconds');
  if (typeof value.audience !== 'string') throw malformed('"audience" must be a string');
  return value;
}

/**
 * Parses the signed body bytes. Checks the fields verification relies on (`v`, `id`, `step`,
 * `timestamp`, `audience`) and that the step's own member is present; the full shape is
 * described by `functions/schema/request.schema.json`. Unknown extra fields are kept, as the
 * wire contract allows them.
 *
 * @example
 * ```ts
 * const request = parseStepRequest(bodyBytes);
 * if (request.step === 'rcpt') request.rcpt.address;
 * ```
 */
export function parseStepRequest(body: Uint8Array): StepRequest {
  const value = parseCallBody(body, (step) => {
    if (!isStep(step)) throw malformed(`unknown step ${JSON.stringify(step)}`);
  });
  if (!isRecord(value.session)) throw malformed('"session" must be an object');
  if (!isRecord(value.envelope)) throw malformed('"envelope" must be an object');
  const step = value.step as Step; // checked by isStep above
  const member = STEP_MEMBER[step];
  if (member !== null && !isRecord(value[member])) {
    throw malformed(`a ${step} request must have a "${member}" object`);
  }
  return value as unknown as StepRequest;
}
