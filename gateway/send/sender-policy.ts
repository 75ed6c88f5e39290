// Which sender domains the send API sends for: a leaked token must not make the gateway send as
// anyone. The From address and the envelope sender must both be in (or under) an allowed domain.
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { SendApiError } from './send-error.ts';

/** The domain of `local@domain`, as an A-label, lower-case. */
function domainOf(address: string): string {
  return domainToASCII(address.slice(address.lastIndexOf('@') + 1).replace(/\.$/, ''));
}

export function isAllowedDomain(address: string, allowed: readonly string[]): boolean {
  const domain = domainOf(address);
  if (domain === '') return false;
  return allowed.some((entry) => domain === entry || domain.endsWith(`.${entry}`));
}

/** @throws SendApiError ERR_FROM_NOT_ALLOWED naming the address that is not allowed. */
export function checkSender(address: string, allowed: readonly string[], where: string): void {
  if (!isAllowedDomain(address, allowed)) {
    throw new SendApiError(
      'ERR_FROM_NOT_ALLOWED',
      `${where}: ${address} is not in a domain this gateway sends for (MXHOOK_SEND_FROM_DOMAINS)`,
    );
  }
}

/** The raw message's From addresses; each must be allowed, as a composed message's From is. */
export function checkRawFrom(raw: Buffer, allowed: readonly string[]): void {
  const head = raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('utf8');
  const fields = head
    .replace(/\r\n(?=[ \t])/g, '')
    .split('\r\n')
    .filter((line) => /^from[ \t]*:/i.test(line));
  const addresses = fields.flatMap((line) =>
    addressparser(line.slice(line.indexOf(':') + 1), { flatten: true }).map((m) => m.address),
  );
  if (addresses.length === 0) checkSender('', allowed, 'raw From');
  for (const address of addresses) checkSender(address, allowed, 'raw From');
}
