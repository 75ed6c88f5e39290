// Names the benchmark's processes share.

/** The peer signs its POSTs with HMAC-SHA256 in this header, as a hand-written bridge typically would. */
export const PEER_SIGNATURE_HEADER = 'x-signature';
/** Our name in the targets' banners and Received headers. */
export const BENCH_HOSTNAME = 'mx.bench.test';
/** The envelope every load-generator message uses. */
export const MAIL_FROM = 'load@client.bench.test';
export const RCPT_TO = 'sink@mx.bench.test';
