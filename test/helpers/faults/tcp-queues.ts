// The kernel's view of a loopback TCP connection (Linux /proc/net/tcp): bytes queued to send and unread.
import { readFileSync } from 'node:fs';

export interface TcpQueues {
  /** Bytes written by the application and not yet acknowledged by the peer. */
  readonly sendQueueBytes: number;
  /** Bytes received and not yet read by the application. */
  readonly receiveQueueBytes: number;
}

/** Whether this system exposes per-socket queues (Linux); tests that need them skip otherwise. */
export const HAS_PROC_NET_TCP = (() => {
  try {
    readFileSync('/proc/net/tcp', 'latin1');
    return true;
  } catch {
    return false;
  }
})();

/**
 * The queues of the socket whose local port is `localPort` and remote port `remotePort`, or null
 * when no such socket is listed. Ports are enough on loopback, where both ends are ours.
 */
export function tcpQueues(localPort: number, remotePort: number): TcpQueues | null {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let table: string;
    try {
      table = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const row of table.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue ...
      const fields = row.trim().split(/\s+/);
      if (fields.length < 5) continue;
      const local = Number.parseInt(fields[1]!.split(':')[1]!, 16);
      const remote = Number.parseInt(fields[2]!.split(':')[1]!, 16);
      if (local !== localPort || remote !== remotePort) continue;
      const [tx, rx] = fields[4]!.split(':');
      return {
        sendQueueBytes: Number.parseInt(tx!, 16),
        receiveQueueBytes: Number.parseInt(rx!, 16),
      };
    }
  }
  return null;
}
