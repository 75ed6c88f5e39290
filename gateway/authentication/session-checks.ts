// One session's authentication checks: started when the session reaches the point where each can
// run (reverse DNS at connect, SPF and the sender domain at MAIL, the message checks as its bytes
// arrive), each under a deadline, and waited for by the first call that carries its result. The
// lookups run while the session goes on: SPF while the client sends its RCPTs.
import type {
  Authentication,
  AuthenticationCheck,
  ReverseDnsVerdict,
  SenderDomainVerdict,
  Step,
} from '../../functions/sdk/wire.ts';
import { MessageChecks } from './message-checks.ts';
import { type Resolve, resolveUntil } from './resolve.ts';
import { resultsHeader, resultsValue, withoutForgedResults } from './results-header.ts';
import { checkReverseDns } from './reverse-dns.ts';
import { checkSenderDomain } from './sender-domain.ts';
import { checkSpf, type SpfOutcome } from './spf-check.ts';

export interface AuthenticationSettings {
  /** The checks to run (MXHOOK_AUTH_CHECKS); none means no `authentication` in any call. */
  readonly checks: ReadonlySet<AuthenticationCheck>;
  readonly resolve: Resolve;
  /** Our host name: the authserv-id of the header, and the name in SPF's comments. */
  readonly hostname: string;
  /** The most one check may take, DNS included (MXHOOK_DNS_TIMEOUT). */
  readonly timeoutMs: number;
}

/** What a step's call carries, once the checks it waits for are done. */
export interface StepVerdicts {
  readonly authentication: Authentication;
  /** The forward-confirmed client name, for `session.client.hostname`; null when none. */
  readonly clientHostname: string | null;
}

/** The data call's verdicts, with the message as the function gets it. */
export interface MessageVerdictsFor extends StepVerdicts {
  /** The message with our Authentication-Results on top and any forged one removed. */
  readonly chunks: readonly Buffer[];
}

interface Transaction {
  readonly spf: Promise<SpfOutcome> | null;
  readonly sender: Promise<SenderDomainVerdict> | null;
}

const NO_TRANSACTION: Transaction = { spf: null, sender: null };

export class SessionChecks {
  readonly #settings: AuthenticationSettings;
  #reverseDns: { readonly address: string; readonly verdict: Promise<ReverseDnsVerdict> } | null =
    null;
  #transaction: Transaction = NO_TRANSACTION;
  #message: MessageChecks | null = null;
  /** The transaction's MAIL FROM: DKIM's reports name it, as `smtp.mailfrom`. */
  #sender = '';

  constructor(settings: AuthenticationSettings) {
    this.#settings = settings;
  }

  /**
   * A client is known, at connect or after XCLIENT named another: reverse DNS starts. Returns
   * its verdict to come, or null when the check is off or already running for this address.
   */
  clientConnected(address: string): Promise<ReverseDnsVerdict> | null {
    if (!this.#on('rdns') || this.#reverseDns?.address === address) return null;
    const verdict = checkReverseDns(address, this.#bounded());
    this.#reverseDns = { address, verdict };
    return verdict;
  }

  /** MAIL FROM (`""` for the null sender): SPF and the sender domain start for this transaction. */
  mailFrom(sender: string, helo: string | null, clientAddress: string): void {
    this.#abandonMessage();
    const { hostname, timeoutMs } = this.#settings;
    this.#transaction = {
      spf: this.#on('spf')
        ? checkSpf({ sender, helo, clientAddress, hostname, timeoutMs }, this.#bounded())
        : null,
      sender: this.#on('sender') ? checkSenderDomain(sender, this.#bounded()) : null,
    };
    this.#sender = sender;
  }

  /**
   * A message starts arriving: where its bytes go as they do, or null when no message check
   * is on. Any message before it that was not finished is dropped.
   */
  messageStarted(): ((bytes: Buffer) => void) | null {
    this.#abandonMessage();
    const { checks, resolve } = this.#settings;
    const switches = {
      dkim: checks.has('dkim'),
      dmarc: checks.has('dmarc'),
      arc: checks.has('arc'),
    };
    if (!switches.dkim && !switches.dmarc && !switches.arc) return null;
    const message = new MessageChecks(this.#sender, switches, resolve);
    this.#message = message;
    return (bytes) => message.write(bytes);
  }

  /** The transaction is over: a message it did not hand to the data call is dropped. */
  transactionEnded(): void {
    this.#abandonMessage();
  }

  /** The session is gone. */
  close(): void {
    this.#abandonMessage();
  }

  /** Whether any check is on: with none, calls carry no `authentication` at all. */
  get enabled(): boolean {
    return this.#settings.checks.size > 0;
  }

  /** The verdicts a call of `step` (not data) carries, waiting for the checks they need. */
  async forStep(step: Exclude<Step, 'data'>): Promise<StepVerdicts> {
    const rdns = await this.#reverseDns?.verdict;
    const authentication: { -readonly [K in keyof Authentication]: Authentication[K] } = {};
    if (rdns !== undefined) authentication.rdns = rdns;
    if (step === 'mail' || step === 'rcpt') {
      const [spf, sender] = await Promise.all([this.#transaction.spf, this.#transaction.sender]);
      if (spf) authentication.spf = spf.verdict;
      if (sender) authentication.sender = sender;
    }
    return { authentication, clientHostname: rdns?.hostname ?? null };
  }

  /**
   * The data call's verdicts: every check, the message checks finished now under their own
   * deadline, and the Authentication-Results header on top of the message, above our Received
   * header (the first of `chunks`), as RFC 8601 §4 asks: above every trace field.
   */
  async forMessage(chunks: readonly Buffer[]): Promise<MessageVerdictsFor> {
    const message = this.#message;
    this.#message = null;
    const resolve = this.#bounded();
    const finished = this.#transaction.spf === null ? Promise.resolve(null) : this.#transaction.spf;
    // DMARC needs SPF's domain; started at MAIL, SPF is almost always done by now.
    const [rdns, spf, sender, verdicts] = await Promise.all([
      this.#reverseDns?.verdict,
      finished,
      this.#transaction.sender,
      finished.then((outcome) => message?.finish(resolve, outcome?.result ?? null)),
    ]);
    const { hostname } = this.#settings;
    const rows: string[] = [];
    const authentication: { -readonly [K in keyof Authentication]: Authentication[K] } = {};
    if (rdns !== undefined) {
      authentication.rdns = rdns;
      rows.push(reverseDnsRow(rdns, this.#reverseDns!.address));
    }
    if (spf) {
      authentication.spf = spf.verdict;
      rows.push(spf.result.info);
    }
    if (sender) authentication.sender = sender;
    if (verdicts !== undefined) {
      const { rows: messageRows, ...rest } = verdicts;
      Object.assign(authentication, rest);
      rows.push(...messageRows);
    }
    const value = resultsValue(hostname, rows);
    authentication.header = value;
    const [received, ...receivedMessage] = chunks;
    const kept =
      received === undefined ? [] : [received, ...withoutForgedResults(receivedMessage, hostname)];
    return {
      authentication,
      clientHostname: rdns?.hostname ?? null,
      chunks: [resultsHeader(value), ...kept],
    };
  }

  #on(check: AuthenticationCheck): boolean {
    return this.#settings.checks.has(check);
  }

  /** The resolver for a check starting now: its lookups end at its deadline. */
  #bounded(): Resolve {
    return resolveUntil(this.#settings.resolve, Date.now() + this.#settings.timeoutMs);
  }

  #abandonMessage(): void {
    this.#message?.abandon();
    this.#message = null;
  }
}

/** RFC 8601 §2.7.3 `iprev`, with the client address as its `policy.iprev` property. */
function reverseDnsRow(verdict: ReverseDnsVerdict, address: string): string {
  const name = verdict.hostname === null ? '' : ` (${verdict.hostname})`;
  return `iprev=${verdict.result} policy.iprev=${address}${name}`;
}
