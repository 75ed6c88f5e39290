// The end of a message: DATA's end marker or BDAT's chunks become the data call, or a refusal.
import type { DataOutcome } from './data-decoder.ts';
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
  Transition,
} from './session-state.ts';

export function onDataEnd(
  state: PhaseState<'data'>,
  outcome: DataOutcome,
  now: Date,
  settings: SessionSettings,
): Transition {
  switch (outcome.kind) {
    case 'complete':
      return callData(state.ctx, state.tx, outcome.chunks, outcome.sizeBytes, now, settings);
    case 'too-large':
      return endRefused(state.ctx, replies.messageTooBig, 'too-large');
    case 'bare-lf':
      return endRefused(state.ctx, replies.bareLf, 'refused');
    case 'long-line':
      return endRefused(state.ctx, replies.longLine, 'refused');
  }
}

export function onBdatChunk(
  state: PhaseState<'bdat'>,
  chunks: readonly Buffer[],
  now: Date,
  settings: SessionSettings,
): Transition {
  const { ctx, tx, chunkBytes, last, discard } = state;
  if (discard !== null) {
    if (tx === null)
      return clientError(ctx, (c) => ({ phase: 'command', ctx: c, tx: null }), discard, settings);
    // RFC 3030 §2: after a failed chunk, the rest of the pipelined chunks are read and discarded.
    if (last)
      return endRefused(ctx, discard, discard === replies.messageTooBig ? 'too-large' : 'refused');
    const failed = {
      ...tx,
      bdat: { chunks: [], sizeBytes: tx.bdat?.sizeBytes ?? 0, failure: discard },
    };
    return respond({ phase: 'command', ctx, tx: failed }, discard);
  }
  if (tx === null) throw new Error('BDAT chunk kept without a transaction'); // bdatRefusal rules this out
  const previous = tx.bdat ?? { chunks: [], sizeBytes: 0, failure: null };
  const progress = {
    chunks: [...previous.chunks, ...chunks],
    sizeBytes: previous.sizeBytes + chunkBytes,
    failure: null,
  };
  if (!last)
    return respond(
      { phase: 'command', ctx, tx: { ...tx, bdat: progress } },
      replies.bdatChunkOk(chunkBytes),
    );
  return callData(ctx, tx, progress.chunks, progress.sizeBytes, now, settings);
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
    state: { phase: 'waiting', ctx, pending: { step: 'data', queueId } },
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
function endRefused(ctx: SessionContext, reply: Reply, outcome: TransactionOutcome): Transition {
  const next = { ...ctx, transactions: ctx.transactions + 1 };
  return respond({ phase: 'command', ctx: next, tx: null }, reply, [
    { type: 'transaction-end', outcome, queueId: null, headers: {} },
  ]);
}
