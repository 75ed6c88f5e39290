// Builds the JSON request body of each step exactly as the wire contract lists it (shared/DESIGN.md).
import { randomUUID } from 'node:crypto';
import { type DataRequest, type StepRequest, WIRE_VERSION } from '../../functions/sdk/wire.ts';
import type { PayloadMode } from '../config/types.ts';
import type { HookCall } from '../smtp/session-state.ts';
import { parseMessage } from './parse-message.ts';
import { type RequestBody, splicedBody, wholeBody } from './request-body.ts';

type DataCall = Extract<HookCall, { step: 'data' }>;

/** The request body for one call; `audience` is the URL being called. */
export async function requestBody(
  call: HookCall,
  audience: string,
  payload: PayloadMode,
): Promise<RequestBody> {
  const base = {
    v: WIRE_VERSION,
    id: randomUUID(),
    timestamp: Math.floor(Date.now() / 1000),
    audience,
    session: call.session,
    envelope: call.envelope,
  } as const;
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
      return dataBody({ ...base, step: 'data' }, call.message, payload);
  }
}

function json(request: StepRequest): RequestBody {
  return wholeBody(Buffer.from(JSON.stringify(request), 'utf8'));
}

/**
 * The message is not concatenated, nor turned into one base64 string inside one JSON string: the
 * JSON is made without `raw`, and the base64 of the message's pieces is spliced in as the bytes go
 * out (see request-body.ts), so a 25 MiB message is held once, not four times.
 */
async function dataBody(
  base: Omit<DataRequest, 'message'>,
  message: DataCall['message'],
  mode: PayloadMode,
): Promise<RequestBody> {
  const { chunks, sizeBytes } = message;
  const parsed = mode === 'raw' ? null : await parseMessage(chunks, sizeBytes);
  const request: DataRequest = {
    ...base,
    message: parsed === null ? { size: sizeBytes } : { size: sizeBytes, parsed },
  };
  const text = JSON.stringify(request);
  if (mode === 'parsed') return wholeBody(Buffer.from(text, 'utf8'));
  // `message` is the last member and its object ends the body, so the text ends with `}}`; `raw`
  // becomes the last member of `message`, just before them.
  return splicedBody(`${text.slice(0, -2)},"raw":"`, chunks, sizeBytes, '"}}');
}
