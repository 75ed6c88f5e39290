// A real DNS server on loopback, for tests of anything that resolves names: it answers A and AAAA
// queries from zones given as data, over UDP and TCP on one port (as a resolver expects), and a
// test can change a name's records and TTLs, or make it fail, while it runs.
import type { AddressInfo, Socket } from 'node:net';
import { createTCPServer, createUDPServer, Packet, type TCPServer, type UDPServer } from 'dns2';

export interface DnsRecord {
  readonly type: 'A' | 'AAAA';
  readonly address: string;
  /** Seconds. */
  readonly ttl: number;
}

/**
 * Records by name (matched case-insensitively, without a trailing dot). A name absent from the
 * zone gets NXDOMAIN; a name present without records of the asked type gets an empty answer.
 */
export type Zone = Readonly<Record<string, readonly DnsRecord[]>>;

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
  close(): Promise<void>;
}

const TYPES: Readonly<Record<number, DnsRecord['type']>> = {
  [Packet.TYPE.A]: 'A',
  [Packet.TYPE.AAAA]: 'AAAA',
};

const running = new Set<TestDnsServer>();

/** Closes every DNS server this test file started and has not closed; for `afterEach`. */
export async function closeAllDnsServers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((server) => server.close()));
}

export async function startDnsServer(zone: Zone = {}): Promise<TestDnsServer> {
  const records = new Map<string, readonly DnsRecord[]>(
    Object.entries(zone).map(([name, list]) => [key(name), list]),
  );
  const failing = new Set<string>();
  const queries: string[] = [];
  const answer =
    (transport: 'udp' | 'tcp') =>
    (request: Packet, send: (response: Packet) => Promise<Buffer>): void => {
      const response = Packet.createResponseFromRequest(request);
      response.header.aa = 1;
      const [question] = request.questions;
      const name = key(question?.name ?? '');
      const type = question === undefined ? undefined : TYPES[question.type];
      queries.push(`${name} ${type ?? String(question?.type)} ${transport}`);
      const found = records.get(name);
      if (failing.has(name)) response.header.rcode = Packet.RCODE.SERVFAIL;
      else if (found === undefined || question === undefined) {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
      } else {
        response.answers = found
          .filter((record) => record.type === type)
          .map(({ ttl, address }) => Packet.createResourceFromQuestion(question, { ttl, address }));
      }
      void send(response);
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
