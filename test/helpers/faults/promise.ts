// Checks the one promise (docs/architecture.md) against what clients saw and the function recorded.
import type { FunctionLedger } from './fault-function.ts';
import type { Outcome } from './send-message.ts';

export interface PromiseSummary {
  /** Messages the client saw 250 for. */
  readonly accepted: number;
  /** Attempts that ended with a 4xx. */
  readonly deferred: number;
  /** Attempts that ended with the connection closed or broken, or given up by the client. */
  readonly closed: number;
  /**
   * Messages the function accepted whose client never saw 250 (the answer was lost on the way):
   * allowed, the sender retries, and the function may see the message again.
   */
  readonly acceptedUnseen: number;
}

export interface CheckOptions {
  /**
   * Let a message reach the function more than once if every time is the same data call (same
   * request `id`, same signed body): the gateway sent one call again after the connection broke,
   * which a function can recognise as a replay (README.md, "The wire contract": replay of `id`).
   */
  readonly allowSameCallAgain?: boolean;
}

/**
 * Every message the client saw 250 for reached the function, and was accepted by it, exactly once
 * (a data call sent again after the function had it counts as reaching it twice); every other
 * attempt ended with a 4xx or a closed connection — never a 5xx, which would make the sender drop
 * mail that a fault, not the function, refused. Throws an Error listing every violation.
 */
export function checkPromise(
  outcomes: readonly Outcome[],
  ledger: FunctionLedger,
  context = '',
  options: CheckOptions = {},
): PromiseSummary {
  const problems: string[] = [];
  const sent = new Set<string>();
  let accepted = 0;
  let deferred = 0;
  let closed = 0;
  let acceptedUnseen = 0;
  for (const outcome of outcomes) {
    if (sent.has(outcome.id)) problems.push(`${outcome.id}: sent twice by the test`);
    sent.add(outcome.id);
    const calls = ledger.accepted.get(outcome.id) ?? [];
    if (outcome.code === 250) {
      accepted += 1;
      const received = ledger.received.get(outcome.id) ?? [];
      const sameCall = received.every((call) => call === received[0]);
      const once = received.length === 1 || (options.allowSameCallAgain === true && sameCall);
      if (calls.length !== 1 || !once)
        problems.push(
          `${outcome.id}: client saw 250; the function received it ${received.length} times (calls ${[...new Set(received)]}) and accepted it ${calls.length} times`,
        );
    } else if (outcome.code === null) {
      closed += 1;
    } else if (outcome.code >= 400 && outcome.code < 500) {
      deferred += 1;
    } else {
      problems.push(`${outcome.id}: ${outcome.step} ended with ${JSON.stringify(outcome.reply)}`);
    }
    if (outcome.code !== 250 && calls.length > 0) acceptedUnseen += 1;
  }
  for (const id of ledger.accepted.keys()) {
    if (!sent.has(id)) problems.push(`${id}: accepted by the function but never sent`);
  }
  if (problems.length > 0) {
    throw new Error(
      `the promise was broken${context ? ` (${context})` : ''}:\n${problems.join('\n')}`,
    );
  }
  return { accepted, deferred, closed, acceptedUnseen };
}
