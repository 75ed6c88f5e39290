// The gateway's authentication verdicts on the pages: chips in the list, a block on the message.
// They come from the signed call (StoredMessage.authentication), never from the message's headers,
// which anyone can write.
import { html } from 'hono/html';
import type { Authentication, AuthenticationResult, VerdictSummary } from '../../sdk/index.ts';
import type { Fragment } from './layout.ts';

/** How a result reads at a glance; the colours are in layout.ts. */
const TONES: Readonly<Record<AuthenticationResult, 'pass' | 'fail' | 'neutral'>> = {
  pass: 'pass',
  fail: 'fail',
  softfail: 'fail',
  permerror: 'fail',
  policy: 'fail',
  neutral: 'neutral',
  none: 'neutral',
  temperror: 'neutral',
};

const NOT_CHECKED = html`<span class="note">not checked</span>`;

function chip(result: AuthenticationResult, label?: string): Fragment {
  return html`<span class="badge verdict-${TONES[result]}">${label === undefined ? result : `${label} ${result}`}</span>`;
}

/** The list's cell: SPF, DKIM and DMARC chips, or "not checked" when the gateway sent none. */
export function verdictChips(verdicts: VerdictSummary | undefined): Fragment {
  if (verdicts === undefined) return NOT_CHECKED;
  const checked = (
    [
      ['SPF', verdicts.spf],
      ['DKIM', verdicts.dkim],
      ['DMARC', verdicts.dmarc],
    ] as const
  ).flatMap(([label, result]) => (result === null ? [] : [chip(result, label)]));
  return checked.length === 0 ? NOT_CHECKED : html`${checked}`;
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

function reverseDns(rdns: NonNullable<Authentication['rdns']>): Fragment {
  // Only a forward-confirmed name is the client's; the others are what its PTR records claim.
  const name =
    rdns.hostname ??
    (rdns.names.length === 0 ? 'no name' : `unconfirmed: ${rdns.names.join(', ')}`);
  return html`${chip(rdns.result)} ${name}`;
}

function spf(verdict: NonNullable<Authentication['spf']>): Fragment {
  // The domain's exp= explanation is its own text, so it is not shown as if it were a finding.
  const identity = verdict.identity === 'helo' ? 'HELO name' : 'MAIL FROM';
  return html`${chip(verdict.result)} ${verdict.domain} (${identity})`;
}

function sender(verdict: NonNullable<Authentication['sender']>): Fragment {
  const accepts =
    verdict.acceptsMail === null
      ? 'unknown'
      : verdict.acceptsMail
        ? 'accepts mail'
        : 'cannot receive mail';
  return html`${verdict.domain ?? '<>'}: ${accepts} (${verdict.reason})`;
}

function dkim(signatures: NonNullable<Authentication['dkim']>): Fragment {
  if (signatures.length === 0) return html`${chip('none')} the message is not signed`;
  return html`${signatures.map(
    (signature) =>
      html`<div class="dkim">${chip(signature.result)} d=${signature.domain} s=${signature.selector} ${signature.algorithm} · ${signature.aligned ? 'aligned' : 'not aligned'}${signature.reason === undefined ? '' : ` · ${signature.reason}`}</div>`,
  )}`;
}

function dmarc(verdict: NonNullable<Authentication['dmarc']>): Fragment {
  const percent =
    verdict.percent === null || verdict.percent === 100 ? '' : ` (pct=${verdict.percent})`;
  return html`${chip(verdict.result)} ${verdict.domain} · policy ${verdict.policy ?? 'none published'}${percent} · aligned: SPF ${yesNo(verdict.aligned.spf)}, DKIM ${yesNo(verdict.aligned.dkim)}`;
}

function arc(verdict: NonNullable<Authentication['arc']>): Fragment {
  return html`${chip(verdict.result)} ${verdict.instances} ARC ${verdict.instances === 1 ? 'set' : 'sets'}`;
}

function row<T>(name: string, verdict: T | undefined, render: (verdict: T) => Fragment): Fragment {
  return html`<dt>${name}</dt><dd>${verdict === undefined ? NOT_CHECKED : render(verdict)}</dd>`;
}

/** The message page's block: every verdict the gateway sent, or why there are none. */
export function verdictsSection(authentication: Authentication | undefined): Fragment {
  const heading = html`<h2>Authentication</h2>
<p class="note">As the gateway checked it when the message arrived. Authentication-Results headers in the message itself are not shown here: anyone can write them.</p>`;
  if (authentication === undefined) {
    return html`${heading}<p class="empty">Not checked: the gateway sent no verdicts for this message.</p>`;
  }
  return html`${heading}<dl class="verdicts">
${row('Reverse DNS', authentication.rdns, reverseDns)}
${row('SPF', authentication.spf, spf)}
${row('Sender domain', authentication.sender, sender)}
${row('DKIM', authentication.dkim, dkim)}
${row('DMARC', authentication.dmarc, dmarc)}
${row('ARC', authentication.arc, arc)}
</dl>`;
}
