// The reason label of a delivery attempt: from the enhanced status code of the reply that decided
// it, mxhook's own failures and remote servers' replies alike, always one of a few words.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DELIVERY_REASONS,
  type DeliveryReason,
  deliveryReason,
} from '../../../../gateway/outbound/delivery-reason.ts';
import { mxHosts } from '../../../../gateway/outbound/mx-hosts.ts';
import type { AttemptOutcome } from '../../../../gateway/outbound/queue.ts';
import { sessionFailure } from '../../../../gateway/outbound/smtp-transaction.ts';

const TARGET = { host: 'mx.dest.test', address: '192.0.2.25' };
const errno = (code: string) => Object.assign(new Error(`${code} happened`), { code });

describe('deliveryReason', () => {
  it('names what our own failures were about', async () => {
    const refusedDns = (code: string) => () => Promise.reject(errno(code));
    const cases: [AttemptOutcome['kind'], string, DeliveryReason][] = [
      ['deferred', sessionFailure(errno('ECONNREFUSED'), TARGET, 'connect'), 'connection'],
      ['deferred', sessionFailure(errno('ETIMEDOUT'), TARGET, 'connect'), 'connection'],
      ['deferred', sessionFailure(errno('ECONNRESET'), TARGET, 'transaction'), 'connection'],
      ['deferred', sessionFailure(errno('ETIMEDOUT'), TARGET, 'setup'), 'connection'],
      ['deferred', sessionFailure(errno('ETLS'), TARGET, 'STARTTLS'), 'tls'],
      [
        'deferred',
        ((await mxHosts('dest.test', refusedDns('ESERVFAIL'))) as { reply: string }).reply,
        'dns',
      ],
      [
        'failed',
        ((await mxHosts('dest.test', refusedDns('ENOTFOUND'))) as { reply: string }).reply,
        'dns',
      ],
      ['failed', '556 5.1.10 Domain dest.test does not accept mail (null MX)', 'dns'],
      ['failed', '550 5.4.4 Domain dest.test has no MX and no address record', 'dns'],
      [
        'failed',
        '552 5.3.4 Message of 900 bytes exceeds the fixed maximum message size of 100 bytes of mx.dest.test[192.0.2.25]',
        'size',
      ],
      ['deferred', '451 4.7.10 mx.dest.test[192.0.2.25] does not offer STARTTLS', 'policy'],
      ['failed', '550 5.7.10 REQUIRETLS needed', 'policy'],
      ['failed', '550 5.6.7 SMTPUTF8 is required, but was not offered by mx.dest.test', 'content'],
    ];
    for (const [kind, reply, reason] of cases)
      expect(deliveryReason({ kind, reply }), reply).toBe(reason);
  });

  it('counts mxhook’s own trouble as local only where the delivery says so', () => {
    const internal = '451 4.3.0 Delivery failed locally: database is locked';
    const shutdown = '451 4.3.2 Delivery is shutting down';
    expect(deliveryReason({ kind: 'deferred', reply: internal }, undefined, true)).toBe('local');
    expect(deliveryReason({ kind: 'deferred', reply: shutdown }, 'opportunistic', true)).toBe(
      'local',
    );
    // The same code from a remote server is its answer.
    expect(deliveryReason({ kind: 'deferred', reply: '421 4.3.2 Service shutting down' })).toBe(
      'remote-4xx',
    );
    // Only a deferral is ever ours alone: a failure keeps its own reason.
    expect(
      deliveryReason({ kind: 'failed', reply: '550 5.1.1 no such user' }, undefined, true),
    ).toBe('remote-5xx');
  });

  it('counts a TLS failure as policy where the delivery required TLS', () => {
    const handshake = sessionFailure(errno('ETLS'), TARGET, 'STARTTLS');
    const required =
      '451 4.7.5 MTA-STS policy requires verified TLS: mx.dest.test[192.0.2.25] certificate not valid (ERR_TLS_CERT_ALTNAME_INVALID)';
    const notListed =
      '451 4.7.5 MTA-STS policy of dest.test lists none of its MX hosts (mx.evil.test)';
    const cases: [string, string | undefined, DeliveryReason][] = [
      [handshake, undefined, 'tls'],
      [handshake, 'opportunistic', 'tls'],
      [handshake, 'mta-sts testing', 'tls'],
      [handshake, 'setting encrypt', 'policy'],
      [required, 'mta-sts enforce', 'policy'],
      [required, 'setting verify, mta-sts testing', 'policy'],
      [notListed, 'mta-sts enforce', 'policy'],
      // Not a TLS failure: the requirement does not make it one.
      ['451 4.4.1 mx.dest.test[192.0.2.25] connect: refused', 'mta-sts enforce', 'connection'],
    ];
    for (const [reply, tlsPolicy, reason] of cases)
      expect(deliveryReason({ kind: 'deferred', reply }, tlsPolicy), `${tlsPolicy}: ${reply}`).toBe(
        reason,
      );
  });

  it('counts remote servers’ other answers by class', () => {
    const cases: [AttemptOutcome['kind'], string, DeliveryReason][] = [
      ['delivered', '250 2.0.0 Ok: queued as 4Xyz', 'ok'],
      ['deferred', '450 4.2.0 Greylisted, try again later', 'remote-4xx'],
      ['deferred', '421 4.3.2 Service shutting down', 'remote-4xx'],
      ['deferred', '452 Too many recipients', 'remote-4xx'],
      ['failed', '550 5.1.1 <bob@dest.test>: no such user', 'remote-5xx'],
      ['failed', '554 Transaction failed', 'remote-5xx'],
      // Microsoft's "access denied" carries 5.4.1: not a connection problem.
      ['failed', '550 5.4.1 Recipient address rejected: Access denied', 'remote-5xx'],
      ['failed', '550 5.7.1 Relaying denied', 'remote-5xx'],
      ['deferred', '452 4.3.4 Message too big for now', 'size'],
      ['expired', '451 4.4.1 mx.dest.test[192.0.2.25] connect: refused', 'expired'],
      ['deferred', 'not an SMTP reply at all', 'remote-4xx'],
    ];
    for (const [kind, reply, reason] of cases)
      expect(deliveryReason({ kind, reply }), reply).toBe(reason);
  });

  it('gives only the reasons listed for the outcome, whatever the reply says', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<AttemptOutcome['kind']>('delivered', 'deferred', 'failed', 'expired'),
        fc.oneof(
          fc.string(),
          fc
            .tuple(
              fc.constantFrom('2', '4', '5'),
              fc.integer({ min: 0, max: 99 }),
              fc.integer({ min: 0, max: 9 }),
              fc.integer({ min: 0, max: 20 }),
              fc.string(),
            )
            .map(
              ([klass, code, subject, detail, text]) =>
                `${klass}${String(code).padStart(2, '0')} ${klass}.${subject}.${detail} ${text}`,
            ),
        ),
        fc.option(fc.constantFrom('opportunistic', 'setting encrypt', 'mta-sts enforce')),
        fc.boolean(),
        (kind, reply, tlsPolicy, local) => {
          expect(DELIVERY_REASONS[kind]).toContain(
            deliveryReason({ kind, reply }, tlsPolicy ?? undefined, local),
          );
        },
      ),
    );
  });
});
