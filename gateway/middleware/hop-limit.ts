// Mail loops (RFC 5321 §6.3): every stage that relays a message adds a Received field, so a message
// that went round a loop carries many. Forwarding (a data answer's `forward`) makes loops easy to
// build by mistake — two addresses forwarding to each other — so the gateway counts the Received
// fields of every message and refuses one past the limit before the function is asked, as Postfix
// does (hopcount_limit, 50 by default). The refusal is permanent: the loop will not end by itself.
import type { Middleware } from '../middleware.ts';
import { headerFieldRanges } from '../smtp/header-fields.ts';
import { HEADER_SCAN_MAX_BYTES } from './return-path.ts';

/** Postfix's default hopcount_limit; our own Received field counts too. */
export const MAX_HOPS = 50;

/** Answers 554 5.4.6 to a message with more than `maxHops` Received fields; passes the rest on. */
export function hopLimit(maxHops = MAX_HOPS): Middleware {
  return function hopLimitMiddleware(c, next) {
    if (c.step !== 'data') return next();
    const hops = headerFieldRanges(c.call.message.chunks, 'received', HEADER_SCAN_MAX_BYTES).length;
    if (hops <= maxHops) return next();
    c.answer = {
      code: 554,
      enhanced: '5.4.6',
      message: `too many hops (${hops} Received fields): the message is looping`,
    };
  };
}
