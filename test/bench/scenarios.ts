// What the benchmark runs: the scenarios of issue 6 and the targets compared, for a full or a --quick run.

export type Scenario =
  | {
      readonly kind: 'load';
      readonly name: string;
      readonly title: string;
      readonly messageBytes: number;
      readonly concurrency: number;
      readonly perSession: number;
      /**
       * MAIL, RCPT and DATA in one write when the server offers PIPELINING (the default); false:
       * one write per command, each after the previous reply, with the lean generator (lean-load.ts).
       */
      readonly pipelining?: boolean;
      /** DKIM-signed messages (auth.ts): run by mxhook raw (checks off) and mxhook auth (on) only. */
      readonly signed?: boolean;
      readonly messages: number;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'large';
      readonly name: string;
      readonly title: string;
      readonly messageBytes: number;
      /** As for `load`. */
      readonly signed?: boolean;
      readonly messages: number;
    }
  | {
      readonly kind: 'idle';
      readonly name: string;
      readonly title: string;
      readonly connections: number;
    };

export type TargetName = 'mxhook-raw' | 'mxhook-parsed' | 'mxhook-auth' | 'peer' | 'peer-no-rdns';

export interface TargetDef {
  readonly name: TargetName;
  readonly label: string;
  /** Scenarios this target skips (the payload mode does not change how idle sessions are held). */
  readonly skips: readonly Scenario['kind'][];
}

export const TARGETS: readonly TargetDef[] = [
  { name: 'mxhook-raw', label: 'mxhook raw', skips: [] },
  { name: 'mxhook-parsed', label: 'mxhook parsed', skips: ['idle'] },
  // mxhook raw with every mail-authentication check on, against the bench's DNS server (auth.ts).
  { name: 'mxhook-auth', label: 'mxhook auth', skips: ['idle'] },
  { name: 'peer', label: 'peer', skips: [] },
  { name: 'peer-no-rdns', label: 'peer no-rDNS', skips: [] },
];

/** The targets of the signed scenarios: the same gateway with the checks off and on. */
const AUTH_COMPARED: readonly TargetName[] = ['mxhook-raw', 'mxhook-auth'];

/**
 * Whether `target` runs `scenario`: the signed scenarios compare checks off and on, and the
 * checks-on target runs nothing else (the other scenarios' mail is unsigned).
 */
export function runsOn(target: TargetDef, scenario: Scenario): boolean {
  if (target.skips.includes(scenario.kind)) return false;
  const signed = scenario.kind !== 'idle' && scenario.signed === true;
  return signed ? AUTH_COMPARED.includes(target.name) : target.name !== 'mxhook-auth';
}

const KIB = 1024;
const MIB = 1024 * 1024;

/** The scenario that defines per-transaction latency and the gateway-added latency. */
export const SERIAL = 'serial';

export function scenarios(quick: boolean): Scenario[] {
  const seconds = quick ? 1_500 : 6_000;
  return [
    {
      kind: 'load',
      name: 'c20',
      title: '1 KiB, 20 sessions, 1 msg/conn',
      messageBytes: KIB,
      concurrency: 20,
      perSession: 1,
      messages: 40_000,
      durationMs: seconds,
    },
    {
      kind: 'load',
      name: 'c200',
      title: '1 KiB, 200 sessions, 1 msg/conn',
      messageBytes: KIB,
      concurrency: 200,
      perSession: 1,
      messages: 40_000,
      durationMs: seconds,
    },
    {
      // c200 with DKIM-signed mail, checks off (mxhook raw) and on (mxhook auth): what the checks cost.
      kind: 'load',
      name: 'c200-auth',
      title: '1 KiB signed, 200 sessions, 1 msg/conn',
      messageBytes: KIB,
      concurrency: 200,
      perSession: 1,
      signed: true,
      messages: 40_000,
      durationMs: seconds,
    },
    {
      kind: 'load',
      name: 'session',
      title: '1 KiB, 20 sessions, 100 msgs/conn',
      messageBytes: KIB,
      concurrency: 20,
      perSession: 100,
      messages: 80_000,
      durationMs: seconds,
    },
    {
      // Connection reuse as Postfix's smtp-source drives it (no pipelining): the shape of an
      // outside measurement that found mxhook behind the peer in CPU per message.
      kind: 'load',
      name: 'reuse',
      title: '1 KiB, 20 sessions, 100 msgs/conn, no pipelining',
      messageBytes: KIB,
      concurrency: 20,
      perSession: 100,
      pipelining: false,
      messages: 80_000,
      durationMs: seconds,
    },
    {
      kind: 'load',
      name: '100k',
      title: '100 KiB, 20 sessions, 1 msg/conn',
      messageBytes: 100 * KIB,
      concurrency: 20,
      perSession: 1,
      messages: 10_000,
      durationMs: seconds,
    },
    {
      kind: 'load',
      name: SERIAL,
      title: '1 KiB, 1 session at a time',
      messageBytes: KIB,
      concurrency: 1,
      perSession: 1,
      messages: quick ? 500 : 3_000,
      durationMs: seconds,
    },
    {
      kind: 'large',
      name: '25m',
      title: '25 MiB message',
      messageBytes: 25 * MIB,
      messages: quick ? 1 : 3,
    },
    {
      kind: 'large',
      name: '25m-auth',
      title: '25 MiB signed message',
      messageBytes: 25 * MIB,
      signed: true,
      messages: quick ? 1 : 3,
    },
    { kind: 'idle', name: 'idle1k', title: '1,000 idle connections', connections: 1_000 },
    ...(quick
      ? []
      : [
          {
            kind: 'idle',
            name: 'idle10k',
            title: '10,000 idle connections',
            connections: 10_000,
          } as const,
        ]),
  ];
}
