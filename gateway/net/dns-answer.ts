// What a DNS response says about one question: the records of the asked type (through any CNAME
// chain) with how long they may be kept, a negative answer with how long the absence may be kept
// (RFC 2308), or a failure. Pure, so every rcode and odd answer can be tested without a network.
import { Packet, type Resource } from 'dns2';

/** The record types asked for by SPF, DKIM, DMARC, ARC, reverse DNS and sender MX checks. */
export const RECORD_TYPES = ['A', 'AAAA', 'TXT', 'MX', 'PTR', 'CNAME', 'NS'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** One record as `dns.promises.resolve` gives it: an address or name, TXT strings, or an MX. */
export type DnsValue =
  | string
  | readonly string[]
  | { readonly exchange: string; readonly priority: number };

export type DnsAnswer =
  | {
      readonly kind: 'records';
      readonly values: readonly DnsValue[];
      /** The smallest TTL along the CNAME chain and among the records. */
      readonly ttlSeconds: number;
    }
  | {
      readonly kind: 'negative';
      /** ENOTFOUND: the name does not exist (NXDOMAIN); ENODATA: no records of the type. */
      readonly code: 'ENOTFOUND' | 'ENODATA';
      /** From the authority section's SOA, min(ttl, minimum); null when there is none. */
      readonly ttlSeconds: number | null;
    };

/** `node:dns` codes for a question that got no usable answer; mailauth tells them apart. */
export type DnsFailureCode =
  | 'ETIMEOUT'
  | 'ESERVFAIL'
  | 'EREFUSED'
  | 'ECONNREFUSED'
  | 'EFORMERR'
  | 'ENOTIMP'
  | 'EBADRESP'
  | 'EBADNAME';

/** A question one server could not answer; the next server may. */
export class DnsFailure extends Error {
  override readonly name = 'DnsFailure';
  readonly code: DnsFailureCode;
  constructor(code: DnsFailureCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

const FAILING_RCODES: Readonly<Record<number, DnsFailureCode>> = {
  [Packet.RCODE.FORMERR]: 'EFORMERR',
  [Packet.RCODE.SERVFAIL]: 'ESERVFAIL',
  [Packet.RCODE.NOTIMP]: 'ENOTIMP',
  [Packet.RCODE.REFUSED]: 'EREFUSED',
};

/** A chain longer than this is a loop or a misconfiguration; resolvers stop near here too. */
const MAX_CNAME_HOPS = 16;

/**
 * The answer `response` gives to `type` at `name`.
 *
 * @throws DnsFailure for an error rcode, or for a response with records that did not decode
 *   (taking the rest for the whole answer could drop, say, one of two SPF records).
 */
export function readResponse(response: Packet, name: string, type: RecordType): DnsAnswer {
  const { rcode } = response.header;
  if (rcode === Packet.RCODE.NXDOMAIN) {
    return { kind: 'negative', code: 'ENOTFOUND', ttlSeconds: negativeTtl(response) };
  }
  if (rcode !== Packet.RCODE.NOERROR) {
    throw new DnsFailure(FAILING_RCODES[rcode] ?? 'EBADRESP', `the server answered rcode ${rcode}`);
  }
  if (response.errors.length > 0) {
    throw new DnsFailure('EBADRESP', `undecodable response: ${response.errors[0]?.message}`);
  }
  const typeCode = Packet.TYPE[type];
  const answers = response.answers.filter((record) => record.class === Packet.CLASS.IN);
  let owner = dnsKey(name);
  let ttl = Number.POSITIVE_INFINITY;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const own = answers.filter(
      (record) => record.type === typeCode && dnsKey(record.name) === owner,
    );
    const values = own.map((record) => recordValue(record, type));
    if (values.length > 0 && !values.includes(undefined)) {
      const smallest = Math.min(ttl, ...own.map((record) => record.ttl));
      return { kind: 'records', values: values as DnsValue[], ttlSeconds: smallest };
    }
    const alias = answers.find(
      (record) => record.type === Packet.TYPE.CNAME && dnsKey(record.name) === owner,
    );
    if (type === 'CNAME' || alias?.domain === undefined) break;
    ttl = Math.min(ttl, alias.ttl);
    owner = dnsKey(alias.domain);
  }
  return { kind: 'negative', code: 'ENODATA', ttlSeconds: negativeTtl(response) };
}

/** A name as DNS compares it: case-insensitive, the trailing root dot optional. */
export function dnsKey(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function recordValue(record: Resource, type: RecordType): DnsValue | undefined {
  switch (type) {
    case 'A':
    case 'AAAA':
      return record.address;
    case 'TXT':
      // Kept as separate character-strings, as node:dns does: DKIM joins them, SPF too.
      return Array.isArray(record.data) ? [...record.data] : undefined;
    case 'MX':
      return record.exchange === undefined || record.priority === undefined
        ? undefined
        : { exchange: record.exchange, priority: record.priority };
    case 'PTR':
    case 'CNAME':
      return record.domain;
    case 'NS':
      return record.ns;
  }
}

/** RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
function negativeTtl(response: Packet): number | null {
  const soa = response.authorities.find((record) => record.type === Packet.TYPE.SOA);
  if (soa === undefined) return null;
  return Math.min(soa.ttl, soa.minimum ?? soa.ttl);
}
