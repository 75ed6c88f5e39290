// The end of a message: DATA's end marker or BDAT's chunks become the data call, or a refusal.
import type { DataOutcome } from './data-decoder.ts';
import { findMessageId } from './message-id.ts';
import { receivedHeader } from './received.ts';
import { replies } from './replies.ts';
import type { Reply } from './reply.ts';
import { clientError, respond } from './respond.ts';
import type {
  PhaseState,
  SessionContext,
  SessionSettings,
  Transaction,
  TransactionOutcome,
  TransactionSummary,
  Transition,
} from './session-state.ts';

export function onDataEnd(
  state: PhaseState<'data'>,
  outcome: DataOutcome,
  now: Date,
  settings: SessionSettings,
): Transition {
  return onMessageEnd(state.ctx, state.tx, outcome, now, settings);
}

export function onBdatChunk(
  state: PhaseState<'bdat'>,
  outcome: DataOutcome | null,
  now: Date,
  settings: SessionSettings,
): Transition {
  const { ctx, tx, chunkBytes, last, discard } = state;
  // Announced sizes add up even for refused chunks, so the allowance for skipping them holds.
  const sizeBytes = (tx?.bdat?.sizeBytes ?? 0) + chunkBytes;
  if (discard !== null) {
    if (tx === null)
      return clientError(ctx, (c) => ({ phase: 'command', ctx: c, tx: null }), discard, settings);
    // RFC 3030 §2: after a failed chunk, the rest of the pipelined chunks are read and discarded.
    if (last)
      return endRefused(
        ctx,
        tx,
        discard,
        discard === replies.messageTooBig ? 'too-large' : 'refused',
      );
    const failed = { ...tx, bdat: { sizeBytes, failure: discard } };
    return respond({ phase: 'command', ctx, tx: failed }, discard);
  }
  if (tx === null) throw new Error('BDAT chunk kept without a transaction'); // bdatRefusal rules this out
  if (!last)
    return respond(
      { phase: 'command', ctx, tx: { ...tx, bdat: { sizeBytes, failure: null } } },
      replies.bdatChunkOk(chunkBytes),
    );
  if (outcome === null) throw new Error('last BDAT chunk read without the message outcome');
  return onMessageEnd(ctx, tx, outcome, now, settings);
}

/** DATA's end marker or BDAT's LAST chunk: the same outcome gets the same answer either way. */
function onMessageEnd(
  ctx: SessionContext,
  tx: Transaction,
  outcome: DataOutcome,
  now: Date,
  settings: SessionSettings,
): Transition {
  switch (outcome.kind) {
    case 'complete':
      return callData(ctx, tx, outcome.chunks, outcome.sizeBytes, now, settings);
    case 'too-large':
      return endRefused(ctx, tx, replies.messageTooBig, 'too-large');
    case 'bare-lf':
      return endRefused(ctx, tx, replies.bareLf, 'refused');
    case 'long-line':
      return endRefused(ctx, tx, replies.longLine, 'refused');
    case 'over-budget':
      return endRefused(ctx, tx, replies.memoryBudget, 'refused');
  }
}

function callData(
  ctx: SessionContext,
  tx: Transaction,
  chunks: readonly Buffer[],
  sizeBytes: number,
  now: Date,
  settings: SessionSettings,
): Transition {
  const queueId = `${ctx.info.id}.${ctx.transactions + 1}`;
  const received = receivedHeader({
    session: ctx.info,
    hostname: settings.hostname,
    esmtp: ctx.esmtp,
    smtputf8: tx.smtputf8,
    queueId,
    recipients: tx.rcptTo.map((r) => r.address),
    now,
  });
  return {
    state: {
      phase: 'waiting',
      ctx,
      pending: { step: 'data', queueId, summary: summarize(tx, sizeBytes, findMessageId(chunks)) },
    },
    actions: [
      {
        type: 'hook',
        call: {
          step: 'data',
          session: ctx.info,
          envelope: { mailFrom: tx.mailFrom, rcptTo: tx.rcptTo },
          message: {
            chunks: [received, ...chunks],
            sizeBytes: received.length + sizeBytes,
            queueId,
          },
        },
      },
    ],
  };
}

/** The transaction ends without a data call; RFC 5321 §4.1.1.4 resets it after a failed DATA. */
function endRefused(
  ctx: SessionContext,
  tx: Transaction,
  reply: Reply,
  outcome: TransactionOutcome,
): Transition {
  const next = { ...ctx, transactions: ctx.transactions + 1 };
  return respond({ phase: 'command', ctx: next, tx: null }, reply, [
    { type: 'transaction-end', outcome, queueId: null, headers: {}, summary: summarize(tx) },
  ]);
}

function summarize(
  tx: Transaction,
  sizeBytes: number | null = null,
  messageId: string | null = null,
): TransactionSummary {
  return {
    mailFrom: tx.mailFrom.address,
    rcptTo: tx.rcptTo.map((rcpt) => rcpt.address),
    sizeBytes,
    messageId,
  };
}
