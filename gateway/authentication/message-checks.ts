// DKIM (RFC 6376), ARC (RFC 8617) and DMARC (RFC 7489) for one message. The message's bytes are
// written here as the gateway receives them, so the body hashes grow with the message: when its
// last byte arrives only the key lookups and the signature checks are left, never a second pass
// over a 25 MiB body, and no single step hashes more than one received chunk.
import { PassThrough } from 'node:stream';
import {
  type ARCResult,
  arc,
  type DKIMResult,
  type DKIMVerifyResult,
  type DMARCResult,
  dkimVerify,
  type SPFResult,
} from 'mailauth';
import { evaluateDmarc } from 'mailauth/lib/dmarc/index.js';
import type { ArcVerdict, DkimVerdict, DmarcVerdict } from '../../functions/sdk/wire.ts';
import type { Resolve } from './resolve.ts';
import { keyword } from './spf-check.ts';

/** RFC 8301 §3.2: keys under 1024 bits are refused (mailauth reports them as `policy`). */
const MIN_KEY_BITS = 1024;

export interface MessageCheckSwitches {
  readonly dkim: boolean;
  readonly dmarc: boolean;
  readonly arc: boolean;
}

export interface MessageVerdicts {
  readonly dkim?: readonly DkimVerdict[];
  readonly dmarc?: DmarcVerdict;
  readonly arc?: ArcVerdict;
  /** The Authentication-Results rows (RFC 8601 resinfo) of these checks, in header order. */
  readonly rows: readonly string[];
}

export class MessageChecks {
  readonly #switches: MessageCheckSwitches;
  readonly #input = new PassThrough();
  readonly #verified: Promise<DKIMVerifyResult>;
  /** What lookups go through: the plain resolver while the message arrives, then one with a deadline. */
  #resolve: Resolve;

  /** `sender` is the MAIL FROM address (`""` for the null sender). */
  constructor(sender: string, switches: MessageCheckSwitches, resolve: Resolve) {
    this.#switches = switches;
    this.#resolve = resolve;
    const resolver = (name: string, rrtype: string) => this.#resolve(name, rrtype);
    this.#verified = dkimVerify(this.#input, {
      resolver: resolver as never,
      sender: sender === '' ? undefined : sender,
      minBitLength: MIN_KEY_BITS,
      // RFC 6376 exactly: a body that does not match its hash is `fail` (mailauth's lenient mode
      // says `neutral`), and rsa-sha1 is `policy` (RFC 8301 §3.1).
      strict: true,
    } as never);
    // Abandoned messages (refused, reset) reject here; nobody waits for them.
    this.#verified.catch(() => {});
  }

  /** The next bytes of the message, exactly as received (dot-unstuffed). */
  write(bytes: Buffer): void {
    this.#input.write(bytes);
  }

  /** The message will not be finished (refused, reset, session gone): drop what was started. */
  abandon(): void {
    this.#input.destroy();
  }

  /**
   * The message is complete: finishes the checks, with every lookup from now on through
   * `resolve` (which carries the deadline). `spf` is the SPF result from MAIL, if SPF ran: DMARC
   * needs its domain.
   */
  async finish(resolve: Resolve, spf: SPFResult | null): Promise<MessageVerdicts> {
    this.#resolve = resolve;
    this.#input.end();
    const dkim = await this.#verified;
    const resolver = resolve as never;
    const chain: ARCResult | null =
      this.#switches.arc || this.#switches.dmarc
        ? await arc(dkim.arc as never, { resolver, minBitLength: MIN_KEY_BITS })
        : null;
    const dmarc = this.#switches.dmarc ? await checkDmarc(dkim, spf, chain, resolver) : null;
    const rows: string[] = [];
    const verdicts: { -readonly [K in keyof MessageVerdicts]: MessageVerdicts[K] } = { rows };
    if (this.#switches.dkim) {
      verdicts.dkim = signaturesOf(dkim, dmarc?.aligned ?? null);
      rows.push(...dkim.results.map((result) => (result as { info: string }).info));
    }
    if (this.#switches.arc && chain !== null) {
      verdicts.arc = { result: keyword(chain.status.result), instances: chain.i || 0 };
      // mailauth leaves `arc=none` out of its lenient rows; the header says what was checked.
      rows.push(chain.info ?? `arc=${verdicts.arc.result}`);
    }
    if (dmarc !== null) {
      verdicts.dmarc = dmarc.verdict;
      rows.push(dmarc.row);
    }
    return verdicts;
  }
}

interface DmarcOutcome {
  readonly verdict: DmarcVerdict;
  readonly row: string;
  /** Signing domains that align with the From domain. */
  readonly aligned: ReadonlySet<string>;
}

async function checkDmarc(
  dkim: DKIMVerifyResult,
  spf: SPFResult | null,
  chain: ARCResult | null,
  resolver: never,
): Promise<DmarcOutcome> {
  const passing = dkim.results.filter((result) => result.status.result === 'pass');
  const evaluation = await evaluateDmarc({
    headerFrom: dkim.headerFrom,
    fromFields: dkim.fromFields,
    spfDomains: spf !== null && spf.status.result === 'pass' ? [spf.domain] : [],
    dkimDomains: passing.map((result) => ({
      id: result.id,
      domain: result.signingDomain,
      aligned: result.status.aligned,
      underSized: result.status.underSized,
    })),
    arcResult: chain,
    resolver,
  } as never);
  const response = evaluation.response as DMARCResult | false;
  const aligned = new Set(
    [...(evaluation.dkimAligned ?? [])].map((domain) => domain.toLowerCase()),
  );
  if (response === false) {
    // No single author domain to judge (none, several, or several From fields: RFC 7489
    // §6.6.1): nothing to align with, which the function should treat as suspect.
    const reason = evaluation.reason ?? 'no-author-domain';
    const domain = evaluation.authorDomains?.[0] ?? '';
    return {
      verdict: {
        result: 'permerror',
        domain,
        policy: null,
        percent: null,
        aligned: { spf: false, dkim: false },
        reason,
      },
      row: `dmarc=permerror (${reason})`,
      aligned,
    };
  }
  const policy = response.policy as DmarcVerdict['policy'] | undefined;
  const hasRecord = response.rr !== undefined;
  return {
    verdict: {
      result: keyword(response.status.result),
      domain: response.status.header?.from ?? response.domain,
      policy: hasRecord ? (policy ?? null) : null,
      percent: hasRecord ? percentOf(response.rr as string) : null,
      // Without a record (or with DNS failing) nothing was aligned: mailauth leaves it out then.
      aligned: {
        spf: response.alignment?.spf.result !== undefined,
        dkim: response.alignment?.dkim.result !== undefined,
      },
    },
    row: response.info,
    aligned,
  };
}

/**
 * RFC 7489's `pct` (default 100). mailauth follows DMARCbis, which dropped it for `t=y`, so it is
 * read from the record here for functions that still honour it.
 */
function percentOf(record: string): number {
  const match = /(?:^|;)\s*pct\s*=\s*(\d{1,3})\s*(?:;|$)/i.exec(record);
  return match === null ? 100 : Math.min(Number(match[1]), 100);
}

function signaturesOf(dkim: DKIMVerifyResult, aligned: ReadonlySet<string> | null): DkimVerdict[] {
  // An unsigned message comes back as one result with no domain: no signatures.
  return dkim.results
    .filter((result) => result.signingDomain !== undefined)
    .map((result) => signatureOf(result, aligned));
}

function signatureOf(result: DKIMResult, aligned: ReadonlySet<string> | null): DkimVerdict {
  const domain = result.signingDomain ?? '';
  const verdict = {
    result: keyword(result.status.result),
    domain,
    selector: result.selector ?? '',
    algorithm: result.algo ?? '',
    aligned:
      aligned === null
        ? Boolean(result.status.aligned)
        : aligned.has(domain.toLowerCase()) && result.status.result === 'pass',
  };
  const reason = result.status.comment;
  return verdict.result === 'pass' || typeof reason !== 'string' ? verdict : { ...verdict, reason };
}
