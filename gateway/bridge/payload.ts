// Builds the JSON request body of each step exactly as the wire contract (functions/sdk/wire.ts) lists it.
import { randomUUID } from 'node:crypto';
import {
  type DataRequest,
  type RawReference,
  type StepRequest,
  WIRE_VERSION,
} from '../../functions/sdk/wire.ts';
import type { PayloadMode } from '../config/setting.ts';
import type { VerifiedCall } from '../handler.ts';
import type { ParsePool } from './parse-pool.ts';
import {
  type BodyPiece,
  type RequestBody,
  type StampedBody,
  splicedBody,
  wholeBody,
} from './request-body.ts';

type DataCall = Extract<VerifiedCall, { step: 'data' }>;

/** A call as the bridge gets it: at data, maybe with the archive's reference to the message. */
export type BridgeCall = VerifiedCall & { readonly rawReference?: RawReference };

/** How the data call's message is carried, and what parses it. */
export interface PayloadOptions {
  readonly mode: PayloadMode;
  readonly parser: Pick<ParsePool, 'parse'>;
}

/** The request body for one call, with its `id` and `timestamp`; `audience` is the URL being called. */
export async function requestBody(
  call: BridgeCall,
  audience: string,
  payload: PayloadOptions,
  signal: AbortSignal,
): Promise<StampedBody> {
  const base = {
    v: WIRE_VERSION,
    id: randomUUID(),
    timestamp: Math.floor(Date.now() / 1000),
    audience,
    session: call.session,
    envelope: call.envelope,
    ...(call.authentication === undefined ? {} : { authentication: call.authentication }),
  } as const;
  const body = await stepBody(call, base, payload, signal);
  return {
    byteLength: body.byteLength,
    whole: body.whole,
    pieces: body.pieces,
    id: base.id,
    timestamp: base.timestamp,
  };
}

function stepBody(
  call: BridgeCall,
  base: Omit<StepRequest, 'step'>,
  payload: PayloadOptions,
  signal: AbortSignal,
): RequestBody | Promise<RequestBody> {
  switch (call.step) {
    case 'connect':
      return json({ ...base, step: 'connect' });
    case 'helo':
      return json({ ...base, step: 'helo', helo: call.helo });
    case 'auth':
      return json({ ...base, step: 'auth', auth: call.auth });
    case 'mail':
      return json({ ...base, step: 'mail', mailFrom: call.mailFrom });
    case 'rcpt':
      return json({ ...base, step: 'rcpt', rcpt: call.rcpt });
    case 'data':
      return dataBody(
        { ...base, step: 'data' },
        call.message,
        call.rawReference ?? null,
        payload,
        signal,
      );
  }
}

function json(request: StepRequest): RequestBody {
  return wholeBody(Buffer.from(JSON.stringify(request), 'utf8'));
}

/**
 * The message is not concatenated, nor turned into one base64 string inside one JSON string: the
 * JSON is made without `raw`, and the base64 of the message's pieces is spliced in as the bytes go
 * out (see request-body.ts), so a 25 MiB message is held once, not four times. `parsed` arrives from
 * the parse worker as JSON in UTF-8 pieces and is spliced in as it is. A message that cannot be parsed goes
 * with `parsed: null`, the reason, and `raw` whatever the mode, so the function always gets it.
 *
 * A message the archive keeps by reference goes as `rawRef` in place of `raw`, and its `parsed`
 * describes attachments without their bytes: the body stays small whatever the message's size.
 */
async function dataBody(
  base: Omit<DataRequest, 'message'>,
  message: DataCall['message'],
  reference: RawReference | null,
  { mode, parser }: PayloadOptions,
  signal: AbortSignal,
): Promise<RequestBody> {
  const { chunks, sizeBytes } = message;
  const request: DataRequest = { ...base, message: { size: sizeBytes } };
  // `message` is the last member and its object ends the body, so the text ends with `}}`; the
  // other members of `message` go just before them.
  const head = `${JSON.stringify(request).slice(0, -2)},`;
  const raw: BodyPiece[] =
    reference === null
      ? ['"raw":"', { base64Of: chunks, byteLength: sizeBytes }, '"}}']
      : [`"rawRef":${JSON.stringify(reference)}}}`];
  if (mode === 'raw') return splicedBody([head, ...raw]);
  const outcome = await parser.parse(chunks, sizeBytes, signal, {
    attachmentContent: reference === null,
  });
  if ('error' in outcome) {
    return splicedBody([
      `${head}"parsed":null,"parseError":${JSON.stringify(outcome.error)},`,
      ...raw,
    ]);
  }
  if (mode === 'parsed') return splicedBody([`${head}"parsed":`, ...outcome.json, '}}']);
  return splicedBody([`${head}"parsed":`, ...outcome.json, ',', ...raw]);
}
