// What the I/O shell reports as it runs, for metrics and logs; every method is optional.
import type { Step } from '../../functions/sdk/wire.ts';
import type { Reply } from '../smtp/reply.ts';
import type { TransactionOutcome } from '../smtp/session-state.ts';

export type RefusalReason =
  | 'max-connections'
  | 'max-connections-per-ip'
  | 'access-denied'
  | 'early-talker'
  | 'timeout'
  | 'too-many-errors'
  | 'proxy-header'
  | 'tls-handshake';

export interface GatewayObserver {
  sessionOpened?(): void;
  sessionClosed?(): void;
  reply?(step: string, reply: Reply): void;
  hookCall?(
    step: Step,
    outcome: 'accepted' | 'rejected' | 'deferred' | 'failed',
    durationMs: number,
  ): void;
  transactionEnded?(outcome: TransactionOutcome): void;
  bytesReceived?(count: number): void;
  tlsHandshake?(ok: boolean): void;
  refused?(reason: RefusalReason): void;
}
