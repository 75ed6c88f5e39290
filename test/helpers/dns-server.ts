// A real DNS server on loopback, for tests of anything that resolves names: it answers A, AAAA,
// TXT, MX, PTR and CNAME queries from zones given as data, over UDP (truncated past 512 octets, as
// a real server does) and TCP on one port, and a test can change a name's records and TTLs, make
// it fail, or make it slow or silent, while it runs.
import type { AddressInfo, Socket } from 'node:net';
import { createTCPServer, createUDPServer, Packet, type TCPServer, type UDPServer } from 'dns2';

type DnsResource = Packet['answers'][number];

/** One resource record; `ttl` in seconds, 300 when absent. */
export type DnsRecord =
  | { readonly type: 'A' | 'AAAA'; readonly address: string; readonly ttl?: number }
  /** A string longer than 255 octets is split into several character-strings, as DNS needs. */
  | { readonly type: 'TXT'; readonly data: string | readonly string[]; readonly ttl?: number }
  | {
      readonly type: 'MX';
      readonly exchange: string;
      readonly priority: number;
      readonly ttl?: number;
    }
  | { readonly type: 'PTR' | 'CNAME'; readonly domain: string; readonly ttl?: number };

/**
 * Records by name (matched case-insensitively, without a trailing dot). A name absent from the
 * zone gets NXDOMAIN; a name present without records of the asked type gets an empty answer. Both
 * negative answers carry an SOA whose minimum is `negativeTtl` (RFC 2308). A CNAME is answered
 * for any type, followed by the target's records of the asked type when the zone has them.
 */
export type Zone = Readonly<Record<string, readonly DnsRecord[]>>;

/** The records that make mx.<domain>, at `address`, the one MX host of `domain`. */
export function mxHost(domain: string, address: string): Zone {
  return {
    [domain]: [{ type: 'MX', exchange: `mx.${domain}`, priority: 10 }],
    [`mx.${domain}`]: [{ type: 'A', address }],
  };
}

export interface DnsServerOptions {
  /** The SOA minimum of negative answers, seconds; 60 when absent. */
  readonly negativeTtl?: number;
}

export interface TestDnsServer {
  /** `127.0.0.1:<port>`, as MXHOOK_DNS_SERVERS and `Resolver.setServers` take it. */
  readonly server: string;
  readonly port: number;
  /** Questions received so far, as `name TYPE over`, e.g. `relay.test A udp`. */
  readonly queries: readonly string[];
  /** Replaces a name's records (with their TTLs); null removes the name (NXDOMAIN). */
  set(name: string, records: readonly DnsRecord[] | null): void;
  /** While true, queries for `name` get SERVFAIL. */
  fail(name: string, failing: boolean): void;
  /** Answers for `name` wait `ms` first; `'never'` drops them (a timeout); null undoes it. */
  delay(name: string, ms: number | 'never' | null): void;
  close(): Promise<void>;
}

const TYPES: Readonly<Record<number, DnsRecord['type']>> = {
  [Packet.TYPE.A]: 'A',
  [Packet.TYPE.AAAA]: 'AAAA',
  [Packet.TYPE.TXT]: 'TXT',
  [Packet.TYPE.MX]: 'MX',
  [Packet.TYPE.PTR]: 'PTR',
  [Packet.TYPE.CNAME]: 'CNAME',
};
const DEFAULT_TTL = 300;

const running = new Set<TestDnsServer>();

/** Closes every DNS server this test file started and has not closed; for `afterEach`. */
export async function closeAllDnsServers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((server) => server.close()));
}

export async function startDnsServer(
  zone: Zone = {},
  options: DnsServerOptions = {},
): Promise<TestDnsServer> {
  const records = new Map<string, readonly DnsRecord[]>(
    Object.entries(zone).map(([name, list]) => [key(name), list]),
  );
  const failing = new Set<string>();
  const delays = new Map<string, number | 'never'>();
  const queries: string[] = [];
  const negativeTtl = options.negativeTtl ?? 60;
  const answer =
    (transport: 'udp' | 'tcp') =>
    (request: Packet, send: (response: Packet) => Promise<Buffer>): void => {
      const response = Packet.createResponseFromRequest(request);
      response.header.aa = 1;
      const [question] = request.questions;
      const name = key(question?.name ?? '');
      const type = question === undefined ? undefined : TYPES[question.type];
      queries.push(`${name} ${type ?? String(question?.type)} ${transport}`);
      if (failing.has(name)) response.header.rcode = Packet.RCODE.SERVFAIL;
      else if (question !== undefined) {
        response.answers = answersFor(records, name, type, question.type);
        if (response.answers.length === 0) {
          if (!records.has(name)) response.header.rcode = Packet.RCODE.NXDOMAIN;
          response.authorities = [soa(name, negativeTtl)];
        }
      }
      const delay = delays.get(name);
      if (delay === 'never') return;
      if (delay === undefined) void send(response);
      else setTimeout(() => void send(response).catch(() => {}), delay);
    };
  const { udp, tcp } = await listenOnOnePort(answer('udp'), answer('tcp'));
  const port = (udp.address() as AddressInfo).port;
  // A resolver may keep its TCP connection open; closing must not wait for it to go idle.
  const connections = new Set<Socket>();
  tcp.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  const server: TestDnsServer = {
    server: `127.0.0.1:${port}`,
    port,
    queries,
    set(name, list) {
      if (list === null) records.delete(key(name));
      else records.set(key(name), list);
    },
    fail(name, on) {
      if (on) failing.add(key(name));
      else failing.delete(key(name));
    },
    delay(name, ms) {
      if (ms === null) delays.delete(key(name));
      else delays.set(key(name), ms);
    },
    async close() {
      running.delete(server);
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => {
          tcp.close(() => resolve());
          for (const socket of connections) socket.destroy();
        }),
      ]);
    },
  };
  running.add(server);
  return server;
}

/** The records answering `type` at `name`: its own, or a CNAME and its target's. */
function answersFor(
  records: ReadonlyMap<string, readonly DnsRecord[]>,
  name: string,
  type: DnsRecord['type'] | undefined,
  typeCode: number,
): DnsResource[] {
  const found = records.get(name) ?? [];
  const own = found.filter((record) => record.type === type);
  if (own.length > 0) return own.map((record) => resource(name, typeCode, record));
  const alias = found.find((record) => record.type === 'CNAME');
  if (alias === undefined || alias.type !== 'CNAME') return [];
  const target = key(alias.domain);
  const aliasResource = resource(name, Packet.TYPE.CNAME, alias);
  const targets = (records.get(target) ?? []).filter((record) => record.type === type);
  return [aliasResource, ...targets.map((record) => resource(target, typeCode, record))];
}

function resource(name: string, typeCode: number, record: DnsRecord): DnsResource {
  const base = { name, type: typeCode, class: Packet.CLASS.IN, ttl: record.ttl ?? DEFAULT_TTL };
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return { ...base, address: record.address } as DnsResource;
    case 'TXT':
      return { ...base, data: characterStrings(record.data) } as DnsResource;
    case 'MX':
      return { ...base, exchange: record.exchange, priority: record.priority } as DnsResource;
    case 'PTR':
    case 'CNAME':
      return { ...base, domain: record.domain } as DnsResource;
  }
}

/** A TXT value as DNS carries it: character-strings of at most 255 octets. */
function characterStrings(data: string | readonly string[]): string[] {
  if (typeof data !== 'string') return [...data];
  const strings: string[] = [];
  for (let at = 0; at < data.length; at += 255) strings.push(data.slice(at, at + 255));
  return strings.length === 0 ? [''] : strings;
}

/** The SOA of a negative answer (RFC 2308 §3): its minimum is how long to cache the absence. */
function soa(name: string, negativeTtl: number): DnsResource {
  const zoneName = name.split('.').slice(-1)[0] ?? name;
  return {
    name: zoneName,
    type: Packet.TYPE.SOA,
    class: Packet.CLASS.IN,
    ttl: negativeTtl,
    primary: `ns.${zoneName}`,
    admin: `hostmaster.${zoneName}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expiration: 86400,
    minimum: negativeTtl,
  } as DnsResource;
}

function key(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

type Handler = (request: Packet, send: (response: Packet) => Promise<Buffer>) => void;

/** UDP on a free port, then TCP on the same one; another free port if TCP finds it taken. */
async function listenOnOnePort(
  onUdp: Handler,
  onTcp: Handler,
): Promise<{ udp: UDPServer; tcp: TCPServer }> {
  for (let attempt = 0; ; attempt++) {
    const udp = createUDPServer(onUdp as never);
    await udp.listen(0, '127.0.0.1');
    const tcp = createTCPServer(onTcp as never);
    const port = (udp.address() as AddressInfo).port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => resolve());
      });
      return { udp, tcp };
    } catch (error) {
      udp.close();
      if (attempt === 10) throw error;
    }
  }
}
