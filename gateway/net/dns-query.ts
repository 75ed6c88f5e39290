// One DNS question to one server, bounded in time: over UDP, and over TCP when the UDP answer is
// truncated (a DKIM key or a long SPF record does not fit in 512 octets).
//
// Why dns2 and not node:dns: node's Resolver (c-ares) gives TTLs only for A and AAAA; TXT, MX and
// PTR answers come without them, so a cache could not honour them, and Node 24's c-ares keeps no
// cache of its own. dns2 hands back every record with its TTL, and the SOA of negative answers.
import { connect, isIP, isIPv4, isIPv6 } from 'node:net';
import { Packet, UDPClient } from 'dns2';
import { DnsFailure, dnsKey, type RecordType } from './dns-answer.ts';

export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

/**
 * A server given as `ip`, `ip:port` or `[ipv6]:port` (MXHOOK_DNS_SERVERS, `dns.getServers()`).
 *
 * @throws TypeError for anything else; a name would need a resolver to find the resolver.
 */
export function parseDnsServer(text: string): DnsServer {
  if (isIP(text) !== 0) return { host: text, port: 53 };
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text);
  const bracketed = match?.[1];
  const host = bracketed ?? match?.[2] ?? '';
  const port = Number(match?.[3]);
  const valid = bracketed === undefined ? isIPv4(host) : isIPv6(host);
  if (match === null || !valid || port < 1 || port > 65_535) {
    throw new TypeError(`${JSON.stringify(text)} is not a DNS server (ip, ip:port or [ipv6]:port)`);
  }
  return { host, port };
}

/**
 * The response of `server` to `type` at `name`, within `timeoutMs`.
 *
 * @throws DnsFailure: ETIMEOUT, ECONNREFUSED (any socket error), or EBADRESP for a response that
 *   is not to this question.
 */
export async function askServer(
  server: DnsServer,
  name: string,
  type: RecordType,
  timeoutMs: number,
): Promise<Packet> {
  const started = performance.now();
  // UDPClient drops datagrams from any other address or port or with another id; TCP fallback is
  // ours (below), so retryOverTCP is off.
  const udp = UDPClient({
    dns: server.host,
    port: server.port,
    socketType: isIPv6(server.host) ? 'udp6' : 'udp4',
    timeout: Math.max(1, Math.floor(timeoutMs)),
    retryOverTCP: false,
  });
  let response = await udp(name, type).catch((error: unknown) => {
    throw socketFailure(error, server, timeoutMs);
  });
  if (response.header.tc) {
    const left = timeoutMs - (performance.now() - started);
    if (left <= 0) throw timedOut(server, timeoutMs);
    response = await overTcp(server, name, type, left);
  }
  const [question] = response.questions;
  if (question === undefined || dnsKey(question.name) !== dnsKey(name)) {
    throw new DnsFailure('EBADRESP', `${describe(server)} answered another question`);
  }
  if (question.type !== Packet.TYPE[type]) {
    throw new DnsFailure('EBADRESP', `${describe(server)} answered another type`);
  }
  return response;
}

/**
 * dns2's TCPClient has no timeout (a silent server would hold the socket for ever), takes the host
 * up to the first colon (which breaks IPv6) and does not check the id; this does all three.
 */
async function overTcp(
  server: DnsServer,
  name: string,
  type: RecordType,
  timeoutMs: number,
): Promise<Packet> {
  const query = new Packet();
  query.header.id = Packet.uuid();
  query.header.rd = 1;
  query.questions.push(new Packet.Question(name, Packet.TYPE[type], Packet.CLASS.IN));
  const message = query.toBuffer();
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  const socket = connect({ host: server.host, port: server.port });
  // readStream drops its listeners once it has the message; an 'error' with none is fatal.
  socket.on('error', () => {});
  const timer = setTimeout(() => socket.destroy(timedOut(server, timeoutMs)), timeoutMs);
  try {
    socket.write(Buffer.concat([length, message]));
    let response: Packet;
    try {
      response = Packet.parse(await Packet.readStream(socket));
    } catch (error) {
      throw error instanceof DnsFailure ? error : socketFailure(error, server, timeoutMs);
    }
    if (response.header.id !== query.header.id) {
      throw new DnsFailure('EBADRESP', `${describe(server)} answered over TCP with another id`);
    }
    return response;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

function socketFailure(error: unknown, server: DnsServer, timeoutMs: number): DnsFailure {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ETIMEDOUT') return timedOut(server, timeoutMs);
  if (error instanceof Packet.DecodeError) {
    return new DnsFailure('EBADRESP', `${describe(server)}: ${error.message}`, { cause: error });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new DnsFailure('ECONNREFUSED', `${describe(server)}: ${reason}`, { cause: error });
}

function timedOut(server: DnsServer, timeoutMs: number): DnsFailure {
  return new DnsFailure(
    'ETIMEOUT',
    `${describe(server)} did not answer in ${Math.round(timeoutMs)} ms`,
  );
}

function describe(server: DnsServer): string {
  return isIPv6(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}
