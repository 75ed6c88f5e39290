// The webhook bridge as a Handler: each enabled step becomes a signed call to the function.
import type { Step, StepResponse } from '../../functions/sdk/wire.ts';
import type { PayloadMode } from '../config/setting.ts';
import type { Handler } from '../handler.ts';
import type { FunctionClient } from './function-client.ts';
import type { ParsePool } from './parse-pool.ts';
import { type BridgeCall, requestBody } from './payload.ts';

export interface BridgeOptions {
  readonly client: FunctionClient;
  /** Steps that call the function; the others accept without a call. `data` is always called. */
  readonly steps: readonly Step[];
  readonly payload: PayloadMode;
  /** Parses the data call's message (unused with payload `raw`). */
  readonly parser: Pick<ParsePool, 'parse'>;
}

export function createBridgeHandler(options: BridgeOptions): Handler {
  const { client } = options;
  const payload = { mode: options.payload, parser: options.parser };
  const enabled = new Set<Step>(options.steps);
  async function callFunction(
    call: BridgeCall & { readonly signal: AbortSignal },
  ): Promise<StepResponse> {
    const audience = client.urlOf(call.step);
    const body = await requestBody(call, audience, payload, call.signal);
    // The function's JSON is untrusted: decide() validates it (interpretResponse) before it becomes a reply.
    return (await client.call(call.step, body, call.signal)) as StepResponse;
  }
  return {
    ...(enabled.has('connect') ? { connect: callFunction } : {}),
    ...(enabled.has('helo') ? { helo: callFunction } : {}),
    ...(enabled.has('auth') ? { auth: callFunction } : {}),
    ...(enabled.has('mail') ? { mail: callFunction } : {}),
    ...(enabled.has('rcpt') ? { rcpt: callFunction } : {}),
    data: callFunction,
  };
}
