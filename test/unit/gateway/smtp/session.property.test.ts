// Properties of the session state machine under random event sequences: it never throws, and it
// keeps the one promise whatever happens (docs/architecture.md, "The one promise").
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VERBS } from '../../../../gateway/smtp/command.ts';
import type { DataOutcome } from '../../../../gateway/smtp/data-decoder.ts';
import type { HookOutcome } from '../../../../gateway/smtp/decision.ts';
import { formatReply, type Reply } from '../../../../gateway/smtp/reply.ts';
import type {
  SessionAction,
  SessionEvent,
  SessionSettings,
  SessionState,
} from '../../../../gateway/smtp/session-state.ts';
import { startSession, transition } from '../../../../gateway/smtp/transition.ts';
import { answered, INFO, NOW, outcomeOf, SETTINGS, TLS } from './driver.ts';

// ---- generators -------------------------------------------------------------------------------

const COMMANDS = [
  'EHLO client.example',
  'HELO client.example',
  'ehlo [192.0.2.1]',
  'EHLO',
  'MAIL FROM:<a@b.c>',
  'MAIL FROM:<>',
  'MAIL FROM:<a@b.c> SIZE=50 BODY=8BITMIME RET=HDRS',
  'MAIL FROM:<jörg@b.c> SMTPUTF8',
  'MAIL FROM:<a@b.c> SIZE=1000',
  'MAIL FROM:<a>',
  'RCPT TO:<d@e.f>',
  'RCPT TO:<postmaster>',
  'RCPT TO:<jörg@b.c>',
  'RCPT TO:<d@e.f> NOTIFY=NEVER ORCPT=rfc822;d@e.f',
  'RCPT TO:<d@e.f> XFOO',
  'DATA',
  'DATA x',
  'BDAT 0',
  'BDAT 5',
  'BDAT 5 LAST',
  'BDAT 0 LAST',
  'BDAT 200',
  'BDAT 60 LAST',
  'BDAT x',
  'RSET',
  'NOOP',
  'QUIT',
  'VRFY a',
  'VRFY',
  'EXPN a',
  'HELP',
  'STARTTLS',
  'AUTH PLAIN',
  'GET / HTTP/1.1',
  'XYZZY',
];

const line: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...COMMANDS).map((c) => Buffer.from(c)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...VERBS), fc.string({ maxLength: 40 }))
      .map(([verb, rest]) => Buffer.from(`${verb} ${rest}`)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.nat({ max: 1200 }).map((n) => Buffer.from(`NOOP ${'x'.repeat(n)}`)) },
);

const response: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ action: 'accept' }) },
  { weight: 3, arbitrary: fc.constantFrom('reject', 'defer').map((action) => ({ action })) },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        code: fc.constantFrom(
          220,
          235,
          250,
          251,
          252,
          354,
          421,
          450,
          451,
          452,
          455,
          550,
          552,
          553,
          554,
          555,
          600,
          -1,
        ),
        enhanced: fc.option(fc.constantFrom('2.0.0', '4.3.0', '5.1.1', '5.7.1', '9.9.9', 'x')),
        message: fc.option(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }))),
        headers: fc.option(
          fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.nat())),
        ),
      },
      { requiredKeys: ['code'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      action: fc.constantFrom('accept', 'ACCEPT', 'maybe', 1),
      code: fc.option(fc.constantFrom(250, '250', 550)),
    }),
  },
  { weight: 1, arbitrary: fc.anything() },
);

const outcome: fc.Arbitrary<HookOutcome> = fc.oneof(
  { weight: 5, arbitrary: response.map((r): HookOutcome => ({ ok: true, response: r })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('ERR_HOOK_TIMEOUT', 'ERR_HOOK_NETWORK', 'ERR_HOOK_STATUS', 'ERR_HOOK_THREW')
      .map((code): HookOutcome => ({ ok: false, error: { code, message: 'failed' } })),
  },
);

const dataOutcome: fc.Arbitrary<DataOutcome> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .uint8Array({ maxLength: 40 })
      .map(
        (b): DataOutcome => ({ kind: 'complete', chunks: [Buffer.from(b)], sizeBytes: b.length }),
      ),
  },
  { weight: 1, arbitrary: fc.nat().map((n): DataOutcome => ({ kind: 'too-large', sizeBytes: n })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<DataOutcome>(
      { kind: 'bare-lf' },
      { kind: 'long-line' },
      { kind: 'over-budget' },
    ),
  },
);

const strayEvent: fc.Arbitrary<SessionEvent> = fc.oneof(
  // Events that end the session are rare, so that sessions live long enough to reach deep states.
  {
    weight: 1,
    arbitrary: fc.constantFrom<SessionEvent>(
      { type: 'timeout' },
      { type: 'shutdown' },
      { type: 'early-talker' },
    ),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom<SessionEvent>(
      { type: 'line-too-long' },
      { type: 'tls-started', tls: TLS },
    ),
  },
  { weight: 4, arbitrary: line.map((l): SessionEvent => ({ type: 'line', line: l })) },
  { weight: 4, arbitrary: outcome.map((o): SessionEvent => answered({ phase: 'closed' }, o)) },
  {
    weight: 4,
    arbitrary: dataOutcome.map((o): SessionEvent => ({ type: 'data-end', outcome: o, now: NOW })),
  },
  {
    weight: 4,
    arbitrary: dataOutcome.map((o): SessionEvent => ({ type: 'bdat-chunk', outcome: o, now: NOW })),
  },
);

/**
 * One step of a random session: candidates for every kind of event. Most steps send what the
 * current phase expects (so deep states are reached); some send a random event of any kind.
 */
interface Step {
  readonly fits: boolean;
  /** In the command phase, send a command that moves the session towards a message. */
  readonly progress: boolean;
  readonly pick: number;
  readonly line: Buffer;
  readonly outcome: HookOutcome;
  readonly dataOutcome: DataOutcome;
  readonly stray: SessionEvent;
}

const step: fc.Arbitrary<Step> = fc.record({
  fits: fc.nat({ max: 9 }).map((n) => n < 8),
  progress: fc.nat({ max: 9 }).map((n) => n < 6),
  pick: fc.nat(),
  line,
  outcome,
  dataOutcome,
  stray: strayEvent,
});

const settings: fc.Arbitrary<SessionSettings> = fc
  .record({
    maxRecipients: fc.integer({ min: 1, max: 3 }),
    maxBadCommands: fc.integer({ min: 1, max: 20 }),
    tlsAvailable: fc.boolean(),
    requireTls: fc.nat({ max: 4 }).map((n) => n === 0),
    overBudget: fc.nat({ max: 9 }).map((n) => n === 0),
  })
  .map(({ overBudget, ...rest }) => ({
    ...SETTINGS,
    ...rest,
    maxMessageBytes: 100,
    isOverMemoryBudget: () => overBudget,
  }));

/** The BDAT chunk the I/O shell would report: the message's outcome after a kept LAST chunk. */
function chunkFor(state: Extract<SessionState, { phase: 'bdat' }>): SessionEvent {
  if (state.discard !== null || !state.last) return { type: 'bdat-chunk', outcome: null, now: NOW };
  const chunks = [Buffer.alloc(state.chunkBytes, 0x61)];
  return {
    type: 'bdat-chunk',
    outcome: { kind: 'complete', chunks, sizeBytes: state.chunkBytes },
    now: NOW,
  };
}

const ACCEPTED: HookOutcome = { ok: true, response: { action: 'accept' } };

/** A command that takes the session one step closer to sending a message. */
function progressLine(state: Extract<SessionState, { phase: 'command' }>, pick: number): Buffer {
  const { ctx, tx } = state;
  const options =
    ctx.info.helo === null
      ? ['EHLO client.example', 'HELO client.example', 'STARTTLS']
      : tx === null
        ? ['MAIL FROM:<a@b.c>', 'MAIL FROM:<jörg@b.c> SMTPUTF8', 'MAIL FROM:<> SIZE=50']
        : tx.rcptTo.length === 0
          ? ['RCPT TO:<d@e.f>', 'RCPT TO:<postmaster>']
          : ['DATA', 'DATA', 'BDAT 5', 'BDAT 5 LAST', 'BDAT 0 LAST', 'RCPT TO:<g@h.i>'];
  return Buffer.from(options[pick % options.length]!);
}

/** The event a client and the I/O shell would produce next in this phase. */
function fittingEvent(state: SessionState, s: Step): SessionEvent | null {
  switch (state.phase) {
    case 'command':
      return { type: 'line', line: s.progress ? progressLine(state, s.pick) : s.line };
    case 'waiting':
      return answered(state, s.progress ? ACCEPTED : s.outcome);
    case 'data':
      return { type: 'data-end', outcome: s.dataOutcome, now: NOW };
    case 'bdat':
      return chunkFor(state);
    case 'tls':
      return { type: 'tls-started', tls: TLS };
    case 'auth':
      // A SASL response: a valid PLAIN response, a cancel, or garbage.
      return { type: 'line', line: s.progress ? Buffer.from('AGpvZQBzZWNyZXQ=') : s.line };
    case 'closed':
      return null;
  }
}

/** A step's event: the fitting one, or the stray one. */
const eventFor = (state: SessionState, s: Step): SessionEvent =>
  (s.fits ? fittingEvent(state, s) : null) ?? s.stray;

// ---- oracles ----------------------------------------------------------------------------------

/** Independent of decide(): does the answer say yes (action accept, or any 2xx code)? */
function isAccepting(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const r = body as Record<string, unknown>;
  return r.action === 'accept' || (typeof r.code === 'number' && r.code >= 200 && r.code < 300);
}

const repliesOf = (actions: readonly SessionAction[]): Reply[] =>
  actions.flatMap((a) => (a.type === 'reply' ? [a.reply] : []));

const REPLY_LINE = /^[2-5]\d\d[ -][\t\x20-\x7e]*$/;

/** Every reply is well-formed on the wire, and a close ends the actions exactly when the session ends. */
function checkActions(
  before: SessionState,
  actions: readonly SessionAction[],
  after: SessionState,
) {
  for (const r of repliesOf(actions)) {
    const wire = formatReply(r);
    expect(wire.endsWith('\r\n')).toBe(true);
    for (const text of wire.slice(0, -2).split('\r\n')) {
      expect(text).toMatch(REPLY_LINE);
      expect(text.length).toBeLessThanOrEqual(510);
    }
  }
  const closes = actions.filter((a) => a.type === 'close').length;
  if (before.phase === 'closed') {
    expect(actions).toEqual([]);
    return;
  }
  expect(closes).toBe(after.phase === 'closed' ? 1 : 0);
  if (closes === 1) expect(actions.at(-1)?.type).toBe('close');
}

// ---- properties -------------------------------------------------------------------------------

describe('session properties', () => {
  it('never throws, whatever the events and the state they arrive in', () => {
    fc.assert(
      fc.property(
        settings,
        fc.boolean(),
        fc.array(step, { maxLength: 60, size: 'max' }),
        (limits, greet, steps) => {
          let { state } = startSession(INFO);
          if (greet) state = transition(state, answered(state, ACCEPTED), limits).state;
          for (const s of steps) {
            const event = eventFor(state, s);
            const next = transition(state, event, limits);
            checkActions(state, next.actions, next.state);
            state = next.state;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('answers 250 to DATA or BDAT LAST only after the data step accepted (the one promise)', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(settings, fc.array(step, { maxLength: 80, size: 'max' }), (limits, steps) => {
        let { state } = startSession(INFO);
        state = transition(state, answered(state, ACCEPTED), limits).state;
        // Set once the message has been sent (DATA's 354, or BDAT LAST): its final reply is pending.
        let messageSent = false;
        for (const s of steps) {
          const event = eventFor(state, s);
          const next = transition(state, event, limits);
          const first = repliesOf(next.actions)[0];
          const dataAnswer =
            state.phase === 'waiting' &&
            state.pending.step === 'data' &&
            event.type === 'hook-done';
          const raw = outcomeOf.get(event);
          const yes = raw?.ok === true && isAccepting(raw.response);
          if (first !== undefined && (messageSent || dataAnswer)) {
            if (first.code >= 200 && first.code < 300) {
              expect({ dataAnswer, yes }).toEqual({ dataAnswer: true, yes: true });
              accepted++;
            } else if (dataAnswer) refused++;
            // Every failure of the call is temporary (the one promise).
            if (dataAnswer && raw !== undefined && !raw.ok)
              expect([421, 451]).toContain(first.code);
            messageSent = false;
          }
          for (const a of next.actions)
            if (a.type === 'transaction-end' && a.outcome === 'accepted')
              expect({ dataAnswer, yes }).toEqual({ dataAnswer: true, yes: true });
          if (next.state.phase === 'data' || (next.state.phase === 'bdat' && next.state.last))
            messageSent = true;
          state = next.state;
        }
      }),
      { numRuns: 1000 },
    );
    // The property must have seen the promise kept both ways, not only held vacuously.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(20);
  });

  it('gives every command line exactly one reply, or ends the session', () => {
    fc.assert(
      fc.property(
        settings,
        fc.array(
          fc.tuple(step, fc.array(outcome, { minLength: 1, maxLength: 3 }), fc.nat({ max: 19 })),
          {
            maxLength: 40,
            size: 'max',
          },
        ),
        (limits, units) => {
          let { state } = startSession(INFO);
          state = transition(state, answered(state, ACCEPTED), limits).state;
          for (const [s, answers, shutdownRoll] of units) {
            if (state.phase === 'closed') return;
            if (shutdownRoll === 0) {
              const down = transition(state, { type: 'shutdown' }, limits);
              expect(down.actions.map((a) => a.type)).toEqual(
                down.state.phase === 'closed' ? ['reply', 'close'] : [],
              );
              state = down.state;
              continue;
            }
            const startPhase = state.phase;
            const first = fittingEvent(state, s);
            if (first === null) return;
            const actions: SessionAction[] = [];
            let next = transition(state, first, limits);
            actions.push(...next.actions);
            // Finish what the line started: answer handler calls, deliver the BDAT chunk.
            for (let i = 0; i < 10; i++) {
              const current: SessionState = next.state;
              if (current.phase === 'waiting') {
                const answer = answers[i % answers.length]!;
                next = transition(current, answered(current, answer), limits);
              } else if (current.phase === 'bdat') {
                next = transition(current, chunkFor(current), limits);
              } else break;
              actions.push(...next.actions);
            }
            expect(['waiting', 'bdat']).not.toContain(next.state.phase);
            const replyCount = repliesOf(actions).length;
            const closed = actions.at(-1)?.type === 'close';
            if (startPhase === 'tls') expect(replyCount === 0 || closed).toBe(true);
            else if (closed) expect(replyCount).toBeGreaterThanOrEqual(1);
            else expect(replyCount).toBe(1);
            state = next.state;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
