// Can the MAIL FROM domain receive mail (go-smtpsrv's "mailable" check)? A bounce to a sender
// whose domain cannot take one is lost, so a function may want to refuse such mail up front.
import type { SenderDomainVerdict } from '../../functions/sdk/wire.ts';
import { isNoRecords, isNoSuchDomain, type Resolve } from './resolve.ts';

interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

/** `address` is the MAIL FROM address; `""` is the null sender. */
export async function checkSenderDomain(
  address: string,
  resolve: Resolve,
): Promise<SenderDomainVerdict> {
  const at = address.lastIndexOf('@');
  if (address === '' || at < 0) return { domain: null, acceptsMail: null, reason: 'null-sender' };
  const domain = address.slice(at + 1).toLowerCase();
  try {
    const exchanges = await resolve(domain, 'MX');
    // Anything but a list is a resolver fault, not an answer: unknown, like any DNS failure.
    if (!Array.isArray(exchanges)) return { domain, acceptsMail: null, reason: 'temperror' };
    // RFC 7505: a single MX of "." says the domain accepts no mail.
    const nullMx =
      exchanges.length === 1 && ['', '.'].includes((exchanges[0] as MxRecord).exchange);
    return nullMx
      ? { domain, acceptsMail: false, reason: 'null-mx' }
      : { domain, acceptsMail: true, reason: 'mx' };
  } catch (error) {
    if (isNoSuchDomain(error)) return { domain, acceptsMail: false, reason: 'no-domain' };
    if (!isNoRecords(error)) return { domain, acceptsMail: null, reason: 'temperror' };
  }
  // No MX: RFC 5321 §5.1 delivers to the domain's own address records (the implicit MX).
  const families = await Promise.allSettled([resolve(domain, 'A'), resolve(domain, 'AAAA')]);
  if (families.some((family) => family.status === 'fulfilled')) {
    return { domain, acceptsMail: true, reason: 'address' };
  }
  if (families.some((family) => family.status === 'rejected' && !isNoRecords(family.reason))) {
    return { domain, acceptsMail: null, reason: 'temperror' };
  }
  return { domain, acceptsMail: false, reason: 'no-records' };
}
