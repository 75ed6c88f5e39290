// Builds the JSON request body of each step exactly as the wire contract lists it (shared/DESIGN.md).
import { randomUUID } from 'node:crypto';
import { type MessagePayload, type StepRequest, WIRE_VERSION } from '../../functions/sdk/wire.ts';
import type { PayloadMode } from '../config/types.ts';
import type { HookCall } from '../smtp/session-state.ts';
import { parseMessage } from './parse-message.ts';

/** The request body for one call; `audience` is the URL being called. */
export async function buildRequest(
  call: HookCall,
  audience: string,
  payload: PayloadMode,
): Promise<StepRequest> {
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
      return { ...base, step: 'connect' };
    case 'helo':
      return { ...base, step: 'helo', helo: call.helo };
    case 'mail':
      return { ...base, step: 'mail', mailFrom: call.mailFrom };
    case 'rcpt':
      return { ...base, step: 'rcpt', rcpt: call.rcpt };
    case 'data':
      return {
        ...base,
        step: 'data',
        message: await messagePayload(call.message.chunks, call.message.sizeBytes, payload),
      };
  }
}

async function messagePayload(
  chunks: readonly Buffer[],
  sizeBytes: number,
  mode: PayloadMode,
): Promise<MessagePayload> {
  const raw = Buffer.concat(chunks, sizeBytes);
  const parsed = mode === 'raw' ? undefined : await parseMessage(raw);
  return {
    size: sizeBytes,
    ...(mode === 'parsed' ? {} : { raw: raw.toString('base64') }),
    ...(parsed === undefined ? {} : { parsed }),
  };
}
