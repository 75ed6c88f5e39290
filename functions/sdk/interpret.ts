// Turns a function's JSON answer into the exact SMTP reply the gateway sends, or says why it cannot.
import { ACTION_REPLIES, STEP_CODES } from './codes.ts';
import { actionReplyFor, defaultReplyText } from './reply-texts.ts';
import type { Action, Step } from './wire.ts';

/** An SMTP reply ready to format: code, RFC 3463 enhanced code, and one text per reply line. */
export interface InterpretedReply {
  code: number;
  enhanced: string;
  /** Never empty; each line is printable US-ASCII, at most {@link MAX_LINE_CHARS} characters. */
  lines: string[];
}

/** The reply and, at the data step, headers to record; or why the answer is unusable. */
export type Interpretation =
  | { ok: true; reply: InterpretedReply; headers: Record<string, string> }
  | { ok: false; reason: string };

/**
 * The longest text per reply line. RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets with its
 * CRLF; 400 leaves room for the code, the enhanced code and separators.
 */
export const MAX_LINE_CHARS = 400;
/** The most lines one reply may have; longer answers are cut. */
export const MAX_LINES = 20;
/** The most headers a data answer may ask to record. */
export const MAX_HEADERS = 100;
/** RFC 5322 §2.1.1: a header line, name and value, is at most 998 characters. */
export const MAX_HEADER_LINE_CHARS = 998;

// RFC 3463 §2: class.subject.detail, subject and detail of 1–3 digits.
const ENHANCED_CODE = /^([245])\.\d{1,3}\.\d{1,3}$/;
// RFC 5322 §2.2 / §3.6.8: a field name is printable ASCII except the colon.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
const ACTIONS: readonly string[] = ['accept', 'reject', 'defer'] satisfies readonly Action[];

type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// C0 controls, DEL and C1 controls: never let CR or LF (or anything that a terminal or a parser
// might treat as one) into a reply, which would let a function inject SMTP protocol lines.
function isControl(codePoint: number): boolean {
  return codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f);
}

// RFC 5321 §4.2: reply text is printable US-ASCII. Tabs become spaces, controls go, and any other
// character becomes "?" so the reader still sees that something stood there.
function replyText(line: string): string {
  let text = '';
  for (const char of line) {
    const codePoint = char.codePointAt(0)!;
    if (codePoint === 0x09) text += ' ';
    else if (isControl(codePoint)) continue;
    else text += codePoint > 0x7e ? '?' : char;
  }
  return text.trim().slice(0, MAX_LINE_CHARS).trimEnd();
}

function replyLines(message: unknown, fallback: string): Result<string[]> {
  if (message === undefined || message === null) return { ok: true, value: [fallback] };
  const parts = typeof message === 'string' ? [message] : message;
  if (!Array.isArray(parts) || !parts.every((part) => typeof part === 'string')) {
    return fail('"message" must be a string or an array of strings');
  }
  const lines: string[] = [];
  for (const part of parts as string[]) {
    for (const raw of part.split('\n')) {
      const line = replyText(raw);
      if (line !== '') lines.push(line);
      if (lines.length === MAX_LINES) return { ok: true, value: lines };
    }
  }
  return { ok: true, value: lines.length === 0 ? [fallback] : lines };
}

// Header values may carry UTF-8 (RFC 6532), but no line breaks or other controls.
function headerValue(value: string): string {
  let text = '';
  for (const char of value) {
    const codePoint = char.codePointAt(0)!;
    if (codePoint === 0x09) text += ' ';
    else if (!isControl(codePoint)) text += char;
  }
  return text.trim();
}

function recordedHeaders(headers: unknown): Result<Record<string, string>> {
  if (headers === undefined || headers === null) return { ok: true, value: {} };
  if (!isRecord(headers)) return fail('"headers" must be an object of header names to values');
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) return fail(`at most ${MAX_HEADERS} headers may be recorded`);
  const clean: [string, string][] = [];
  for (const [name, value] of entries) {
    if (!FIELD_NAME.test(name)) return fail(`${JSON.stringify(name)} is not a header field name`);
    if (typeof value !== 'string') return fail(`header ${name} must have a string value`);
    const text = headerValue(value);
    if (name.length + 2 + text.length > MAX_HEADER_LINE_CHARS) {
      return fail(`header ${name} is longer than ${MAX_HEADER_LINE_CHARS} characters`);
    }
    clean.push([name, text]);
  }
  // fromEntries defines own properties, so a header named "__proto__" stays a header.
  return { ok: true, value: Object.fromEntries(clean) };
}

/**
 * The enhanced code of a reply that came without one: that of the action whose code it is, else,
 * for any success code of the step, the step's success (a 251 or 252 to RCPT is 2.1.5, "destination
 * address valid", as the 250 is; RFC 3463 §3.2), else the bare class (RFC 3463 §3.1: X.0.0).
 */
function defaultEnhancedCode(step: Step, code: number): string {
  const own = actionReplyFor(step, code);
  if (own !== undefined) return own.enhanced;
  const accepts: readonly number[] = STEP_CODES[step].accept;
  if (accepts.includes(code)) return ACTION_REPLIES[step].accept.enhanced;
  return `${String(code)[0]}.0.0`;
}

function explicitReply(
  step: Step,
  body: Record<string, unknown>,
): Result<Omit<InterpretedReply, 'lines'>> {
  const { code, enhanced } = body;
  const codes = STEP_CODES[step];
  const allowed: readonly number[] = [...codes.accept, ...codes.temporary, ...codes.permanent];
  if (typeof code !== 'number' || !allowed.includes(code)) {
    return fail(`code ${JSON.stringify(code)} cannot be used at the ${step} step`);
  }
  const codeClass = String(code)[0]!;
  if (enhanced === undefined || enhanced === null) {
    return {
      ok: true,
      value: { code, enhanced: defaultEnhancedCode(step, code) },
    };
  }
  if (typeof enhanced !== 'string') return fail('"enhanced" must be a string like "5.1.1"');
  const match = ENHANCED_CODE.exec(enhanced);
  if (match === null)
    return fail(`enhanced code ${JSON.stringify(enhanced)} is not class.subject.detail`);
  // RFC 3463 §2: the class of the enhanced code repeats the class of the reply code.
  if (match[1] !== codeClass)
    return fail(`enhanced code ${enhanced} does not match the class of ${code}`);
  return { ok: true, value: { code, enhanced } };
}

/**
 * Interprets a function's answer for `step`: `{ code, enhanced?, message? }` or
 * `{ action, message? }`, plus `headers` at the data step. Pure and total: it never throws, and
 * an answer the step cannot use comes back as `{ ok: false, reason }`, which the gateway turns
 * into a temporary failure.
 *
 * The reply it returns is safe to send as is: the code is one the step may use, the enhanced
 * code's class matches it, and every line is printable US-ASCII without CR or LF.
 *
 * @example
 * ```ts
 * interpretResponse('rcpt', { code: 550, message: 'no such user' });
 * // { ok: true, reply: { code: 550, enhanced: '5.1.1', lines: ['no such user'] }, headers: {} }
 * interpretResponse('rcpt', { code: 354 });
 * // { ok: false, reason: 'code 354 cannot be used at the rcpt step' }
 * ```
 */
export function interpretResponse(step: Step, body: unknown): Interpretation {
  if (!Object.hasOwn(STEP_CODES, step)) return fail(`unknown step ${JSON.stringify(step)}`);
  if (!isRecord(body)) return fail('the answer must be a JSON object');
  // null reads as absent, as languages that serialise a missing field as null expect.
  const hasAction = body.action !== undefined && body.action !== null;
  const hasCode = body.code !== undefined && body.code !== null;
  if (hasAction && hasCode) return fail('the answer has both "action" and "code"');
  let head: Omit<InterpretedReply, 'lines'>;
  let fallback: string;
  if (hasAction) {
    if (typeof body.action !== 'string' || !ACTIONS.includes(body.action)) {
      return fail(`unknown action ${JSON.stringify(body.action)}`);
    }
    const reply = ACTION_REPLIES[step][body.action as Action];
    head = { code: reply.code, enhanced: reply.enhanced };
    fallback = reply.message;
  } else if (hasCode) {
    const reply = explicitReply(step, body);
    if (!reply.ok) return reply;
    head = reply.value;
    fallback = defaultReplyText(step, head.code);
  } else {
    return fail('the answer has neither "action" nor "code"');
  }
  const lines = replyLines(body.message, fallback);
  if (!lines.ok) return lines;
  // wire.ts: headers are honoured on the data step only, and ignored elsewhere.
  const headers =
    step === 'data' ? recordedHeaders(body.headers) : { ok: true as const, value: {} };
  if (!headers.ok) return headers;
  return { ok: true, reply: { ...head, lines: lines.value }, headers: headers.value };
}

/** What a reply to a program's own command says when its answer gives no text, by code class. */
const COMMAND_REPLY_TEXT: Readonly<Record<string, string>> = {
  '2': 'OK',
  '4': 'Temporary failure, please try again later',
  '5': 'Command refused',
};

/**
 * Interprets the answer to a command a program added to the gateway (its library API):
 * `{ code, enhanced?, message? }` with any 2xx, 4xx or 5xx code — there is no step whose codes
 * bound it, and a 3xx would leave the client waiting to send more. Checked like a step's answer:
 * the enhanced code's class matches the code, and the lines are printable US-ASCII.
 */
export function interpretCommandReply(body: unknown): Interpretation {
  if (!isRecord(body)) return fail('the answer must be an object');
  const { code, enhanced } = body;
  if (typeof code !== 'number' || !Number.isInteger(code) || !/^[245]\d\d$/.test(String(code)))
    return fail(`code ${JSON.stringify(code)} is not a 2xx, 4xx or 5xx reply code`);
  const codeClass = String(code)[0]!;
  let enhancedCode = `${codeClass}.0.0`; // RFC 3463 §3.1: the bare class
  if (enhanced !== undefined && enhanced !== null) {
    const match = typeof enhanced === 'string' ? ENHANCED_CODE.exec(enhanced) : null;
    if (match === null || match[1] !== codeClass)
      return fail(`enhanced code ${JSON.stringify(enhanced)} does not fit ${code}`);
    enhancedCode = enhanced as string;
  }
  const lines = replyLines(body.message, COMMAND_REPLY_TEXT[codeClass]!);
  if (!lines.ok) return lines;
  return { ok: true, reply: { code, enhanced: enhancedCode, lines: lines.value }, headers: {} };
}

/**
 * Whether a code a step may use accepts, fails temporarily, or fails permanently; `null` for a
 * code the step cannot use. The gateway's one promise rests on this: only `accept` at data is 250.
 *
 * @example
 * ```ts
 * replyKind('data', 250); // 'accept'
 * replyKind('rcpt', 451); // 'temporary'
 * ```
 */
export function replyKind(step: Step, code: number): 'accept' | 'temporary' | 'permanent' | null {
  if (!Object.hasOwn(STEP_CODES, step)) return null;
  const codes = STEP_CODES[step];
  if ((codes.accept as readonly number[]).includes(code)) return 'accept';
  if ((codes.temporary as readonly number[]).includes(code)) return 'temporary';
  if ((codes.permanent as readonly number[]).includes(code)) return 'permanent';
  return null;
}
