// A step's call with the gateway's authentication verdicts added, once the checks it carries
// are done (see SessionChecks): what the hook is then called with.
import type { SessionInfo } from '../../functions/sdk/wire.ts';
import type { SessionChecks } from '../authentication/session-checks.ts';
import type { HookCall, VerifiedCall } from '../handler.ts';
import { sizeOf } from '../pieces.ts';

export async function verifiedCall(checks: SessionChecks, call: HookCall): Promise<VerifiedCall> {
  if (call.step !== 'data') {
    const { authentication, clientHostname } = await checks.forStep(call.step);
    return { ...call, session: named(call.session, clientHostname), authentication };
  }
  const { authentication, clientHostname, chunks } = await checks.forMessage(call.message.chunks);
  return {
    ...call,
    session: named(call.session, clientHostname),
    authentication,
    message: { ...call.message, chunks, sizeBytes: sizeOf(chunks) },
  };
}

/**
 * The session with the confirmed client name, when the call was made before the session learnt
 * it (the connect call is made as the lookup starts); a name XCLIENT gave stays.
 */
function named(session: SessionInfo, hostname: string | null): SessionInfo {
  if (hostname === null || session.client.hostname !== undefined) return session;
  return { ...session, client: { ...session.client, hostname } };
}
