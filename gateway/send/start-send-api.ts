// Builds the send API from the configuration, or nothing when no way to authenticate is set.
import type { Logger } from 'pino';
import { SEND_PATH } from '../../functions/sdk/send-message.ts';
import { publicJwks } from '../../functions/sdk/sign.ts';
import type { GatewayConfig } from '../config/types.ts';
import type { OutboundQueue } from '../outbound/queue.ts';
import type { GatewaySigningKey } from '../signing-keys.ts';
import { SendAuth } from './send-auth.ts';
import { SendEndpoint } from './send-endpoint.ts';

export interface SendApiParts {
  readonly keys: readonly GatewaySigningKey[];
  readonly queue: OutboundQueue | null;
  readonly sign: (message: readonly Buffer[]) => Promise<readonly Buffer[]>;
  readonly log: Logger;
}

/** The endpoint, or null when MXHOOK_SEND_TOKEN and MXHOOK_SEND_SIGNED are both unset. */
export function startSendApi(config: GatewayConfig, parts: SendApiParts): SendEndpoint | null {
  const auth = new SendAuth({
    tokens: config.sendTokens,
    signed: config.sendSigned
      ? {
          secrets: config.signingSecrets,
          jwks: publicJwks(parts.keys),
          // Without MXHOOK_PUBLIC_URL the gateway cannot know the URL it is reached at behind a
          // proxy, so only the path of the signed audience is checked.
          audience: config.publicUrl === null ? null : `${config.publicUrl}${SEND_PATH}`,
        }
      : null,
  });
  if (!auth.enabled) return null;
  const fromDomains =
    config.sendFromDomains.length > 0
      ? config.sendFromDomains
      : config.dkimSign.map((entry) => entry.domain);
  parts.log.info(
    {
      auth: [
        config.sendTokens.length > 0 ? 'token' : null,
        config.sendSigned ? 'signed' : null,
      ].filter(Boolean),
      fromDomains,
      queue: parts.queue !== null,
    },
    `send API on at ${SEND_PATH}`,
  );
  return new SendEndpoint({
    auth,
    queue: parts.queue,
    sign: parts.sign,
    fromDomains,
    hostname: config.hostname,
    maxMessageBytes: config.maxMessageBytes,
    maxRecipients: config.maxRecipients,
    log: parts.log,
  });
}
