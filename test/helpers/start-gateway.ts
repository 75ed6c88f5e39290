// Starts a gateway on 127.0.0.1:0 with a recording, scriptable in-process handler, for tests over
// real sockets (docs/architecture.md, "Tests use real parts").
import {
  createGateway,
  type Gateway,
  type GatewayOptions,
  type Handler,
  type HookAnswer,
  type HookArgs,
} from '../../gateway/index.ts';
import { type TestCertificate, testCertificate } from './certs.ts';
import { Arrivals, WAIT_MS } from './wait.ts';

export type HookStep = 'connect' | 'helo' | 'mail' | 'rcpt' | 'data';

/** How a test answers one step; it sees every call, including its abort signal. */
export type HookScript<S extends HookStep> = (call: HookArgs<S>) => unknown;

export type Script = { [S in HookStep]?: HookScript<S> };

export interface RecordedCall {
  readonly step: HookStep;
  readonly call: HookArgs<HookStep>;
}

/** One call of the data hook, with the message as the single Buffer it arrived as. */
export interface ReceivedMessage {
  readonly call: HookArgs<'data'>;
  /** The exact message bytes: the gateway's Received header, then what the client sent. */
  readonly raw: Buffer;
  /** The gateway's Received header (all its lines, with their CRLFs). */
  readonly received: string;
  /** `raw` without the Received header: the message as the client sent it, after unstuffing. */
  readonly body: Buffer;
}

export interface StartOptions extends Partial<Omit<GatewayOptions, 'listen' | 'handler' | 'tls'>> {
  /** Answers per step; steps without one accept (data included, unlike the real default). */
  readonly script?: Script;
  /** Offer STARTTLS with the file's test certificate (or the given one). */
  readonly tls?: boolean | TestCertificate;
  /** Add an implicit-TLS (SMTPS) listener; implies `tls`. */
  readonly implicitTls?: boolean;
}

export interface TestGateway {
  readonly gateway: Gateway;
  /** The plain (STARTTLS-capable) listener. */
  readonly port: number;
  /** The implicit-TLS listener, when `implicitTls` was asked for. */
  readonly tlsPort: number | null;
  readonly hostname: string;
  /** Every hook call, in the order they were made. */
  readonly calls: readonly RecordedCall[];
  readonly messages: readonly ReceivedMessage[];
  callsOf<S extends HookStep>(step: S): HookArgs<S>[];
  /** Replaces the answer for one step from now on. */
  script<S extends HookStep>(step: S, hook: HookScript<S>): void;
  /** Resolves with the `count`-th call of `step` (1-based), waiting for it if needed. */
  waitForCall<S extends HookStep>(
    step: S,
    count?: number,
    timeoutMs?: number,
  ): Promise<HookArgs<S>>;
  stop(): Promise<void>;
}

export const TEST_HOSTNAME = 'mx.test';

const running = new Set<TestGateway>();

/** Stops every gateway this test file started and has not stopped; for `afterEach`. */
export async function stopAllGateways(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((g) => g.stop()));
}

/**
 * Starts a gateway on 127.0.0.1:0 (plus an SMTPS listener with `implicitTls`) whose handler
 * records every call and answers as scripted; pair with `afterEach(stopAllGateways)`.
 *
 * @example
 * const gw = await startGateway({ script: { rcpt: () => ({ action: 'reject' }) } });
 * const client = await afterEhlo(gw.port);
 */
export async function startGateway(options: StartOptions = {}): Promise<TestGateway> {
  const { script = {}, tls = false, implicitTls = false, ...rest } = options;
  const hooks: Script = { ...script };
  const calls: RecordedCall[] = [];
  const messages: ReceivedMessage[] = [];
  const arrivals = new Arrivals();

  const record = <S extends HookStep>(step: S, call: HookArgs<S>): void => {
    calls.push({ step, call: call as HookArgs<HookStep> });
    if (step === 'data') {
      const data = call as HookArgs<'data'>;
      const raw = Buffer.concat(data.message.chunks);
      const end = receivedHeaderEnd(raw);
      messages.push({
        call: data,
        raw,
        received: raw.toString('utf8', 0, end),
        body: raw.subarray(end),
      });
    }
    arrivals.notify();
  };
  const hookFor =
    <S extends HookStep>(step: S) =>
    (call: HookArgs<S>): HookAnswer | Promise<HookAnswer> => {
      record(step, call);
      const answer = hooks[step] as HookScript<S> | undefined;
      if (answer !== undefined) return answer(call) as HookAnswer | Promise<HookAnswer>;
      return step === 'data' ? { action: 'accept' } : undefined;
    };
  const handler = {
    connect: hookFor('connect'),
    helo: hookFor('helo'),
    mail: hookFor('mail'),
    rcpt: hookFor('rcpt'),
    data: hookFor('data'),
  } as Handler;

  const certificate =
    tls === false && !implicitTls ? null : typeof tls === 'object' ? tls : await testCertificate();
  const gateway = createGateway({
    shutdownGraceMs: 5_000,
    ...rest,
    // Test traffic stays on loopback: no checks (no system DNS); authentication tests bring their own DNS server.
    authChecks: rest.authChecks ?? [],
    hostname: rest.hostname ?? TEST_HOSTNAME,
    handler,
    tls: certificate,
    listen: [
      { host: '127.0.0.1', port: 0, implicitTls: false },
      ...(implicitTls ? [{ host: '127.0.0.1', port: 0, implicitTls: true }] : []),
    ],
  });
  const addresses = await gateway.start();

  const callsOf = <S extends HookStep>(step: S): HookArgs<S>[] =>
    calls.filter((c) => c.step === step).map((c) => c.call as HookArgs<S>);
  let stopped: Promise<void> | null = null;
  const testGateway: TestGateway = {
    gateway,
    port: addresses[0]!.port,
    tlsPort: implicitTls ? addresses[1]!.port : null,
    hostname: rest.hostname ?? TEST_HOSTNAME,
    calls,
    messages,
    callsOf,
    script(step, hook) {
      (hooks as Record<string, unknown>)[step] = hook;
    },
    waitForCall(step, count = 1, timeoutMs = WAIT_MS) {
      return arrivals.nth(
        () => callsOf(step),
        count,
        timeoutMs,
        () => `no ${step} call #${count} (saw ${calls.length} calls)`,
      );
    },
    stop() {
      running.delete(testGateway);
      stopped ??= gateway.stop();
      return stopped;
    },
  };
  running.add(testGateway);
  return testGateway;
}

/** Where the leading `Received:` header (its first line and continuation lines) ends. */
function receivedHeaderEnd(raw: Buffer): number {
  if (!raw.toString('latin1', 0, 9).startsWith('Received:')) return 0;
  let at = 0;
  for (;;) {
    const crlf = raw.indexOf('\r\n', at);
    if (crlf === -1) return raw.length;
    at = crlf + 2;
    if (raw[at] !== 0x09 && raw[at] !== 0x20) return at;
  }
}

/** A hook that holds every call until the test opens the gate; the answer is the one given to `open`. */
export function gate<S extends HookStep>(): {
  readonly hook: HookScript<S>;
  open(answer: HookAnswer): void;
} {
  let release!: (answer: HookAnswer) => void;
  const opened = new Promise<HookAnswer>((resolve) => {
    release = resolve;
  });
  return { hook: () => opened, open: (answer) => release(answer) };
}

/** A hook that never answers on its own: it settles only when the gateway aborts the call. */
export function neverAnswers<S extends HookStep>(): HookScript<S> {
  return ({ signal }) =>
    new Promise((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
}

/** A hook that answers after `ms` (cancelled early if the gateway aborts the call). */
export function answerAfter<S extends HookStep>(ms: number, answer: HookAnswer): HookScript<S> {
  return ({ signal }) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(answer), ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
}
