// ARC sealing for tests (RFC 8617), and ways to break a sealed chain. No second ARC
// implementation can be installed, so this seals with mailauth's own createSeal: mailauth is the
// library under test, so ARC tests check chain validation (a sealed chain passes, a broken one
// fails), not agreement between two implementations as the DKIM tests do (dkim-signer.ts).
import { createSeal } from 'mailauth';
import type { DkimTestKey } from './auth-zone.ts';

export interface ArcSealOptions {
  /** The sealer's key; its domain and selector must be published (auth-zone.ts keys.arc). */
  readonly key: Pick<DkimTestKey, 'domain' | 'selector' | 'privateKey'>;
  /** The ARC-Authentication-Results payload after `i=N;`; `<key domain>; none` when absent. */
  readonly authResults?: string;
  /** cv= of the new ARC-Seal: none for the first set, pass or fail after it (the default). */
  readonly cv?: 'none' | 'pass' | 'fail';
  /** t= of the new set; now when absent. */
  readonly signedAt?: Date;
}

/** The message (CRLF line endings) with one more ARC set prepended; throws if none was made. */
export async function sealArc(message: string, options: ArcSealOptions): Promise<string> {
  const text = message.replace(/\r\n|\r|\n/g, '\r\n');
  const { headers, errors } = await createSeal(text, {
    seal: {
      signingDomain: options.key.domain,
      selector: options.key.selector,
      privateKey: options.key.privateKey.export({ format: 'pem', type: 'pkcs8' }),
      authResults: options.authResults ?? `${options.key.domain}; none`,
      ...(options.cv === undefined ? {} : { cv: options.cv }),
      ...(options.signedAt === undefined ? {} : { signTime: options.signedAt }),
    },
  });
  if (errors.length > 0 || headers.length === 0) {
    throw new Error(`ARC sealing failed: ${errors.map((e) => e.err.message).join('; ')}`);
  }
  return `${headers.join('\r\n')}\r\n${text}`;
}

/** A sealed message whose body changed after sealing: the newest ARC-Message-Signature breaks. */
export function changeBodyAfterSealing(sealed: string): string {
  return `${sealed.replace(/(\r\n)*$/, '\r\n')}Added by a hop that did not seal.\r\n`;
}

/** A sealed message whose newest ARC-Seal signature (b=) has one character changed. */
export function tamperArcSeal(sealed: string): string {
  const seal = /^ARC-Seal:[\s\S]*?\bb=([A-Za-z0-9+/])/im.exec(sealed);
  if (seal === null || seal[1] === undefined) throw new Error('no ARC-Seal b= to tamper with');
  const at = seal.index + seal[0].length - 1;
  const replacement = seal[1] === 'A' ? 'B' : 'A';
  return sealed.slice(0, at) + replacement + sealed.slice(at + 1);
}
