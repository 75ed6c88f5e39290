// What both queue engines do the same way with a message they are given: its id, and its
// recipients with exact duplicates dropped (a recipient is known by message and address).
import { randomBytes } from 'node:crypto';
import type { RecipientRequest } from './queue.ts';

/** Time-ordered (13-digit ms), unique (random tail) and URL-safe (lowercase hex). */
export function queueId(): string {
  return `${Date.now().toString().padStart(13, '0')}${randomBytes(8).toString('hex')}`;
}

/** The recipients, each address once (the first one's DSN parameters kept). */
export function uniqueRecipients(
  recipients: readonly RecipientRequest[],
): readonly RecipientRequest[] {
  const byAddress = new Map<string, RecipientRequest>();
  for (const recipient of recipients)
    if (!byAddress.has(recipient.address)) byAddress.set(recipient.address, recipient);
  return [...byAddress.values()];
}
