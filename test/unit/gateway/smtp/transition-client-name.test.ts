// The confirmed client name (reverse DNS, found by the shell while the session goes on): it joins
// the session for later calls and the Received header, unless the client moved or was named.
import { describe, expect, it } from 'vitest';
import { connected, greeted, inTransaction } from './driver.ts';

const NAMED = { type: 'client-named', address: '192.0.2.7', hostname: 'mail.client.test' } as const;

describe('client-named', () => {
  it('names the client in later calls and in the Received header, replying nothing', () => {
    const s = greeted();
    expect(s.dispatch(NAMED)).toBe('');
    expect(s.last).toEqual([]);
    s.send('MAIL FROM:<a@client.test>');
    expect(s.lastHook?.session.client.hostname).toBe('mail.client.test');
    s.answer({ action: 'accept' });
    s.send('RCPT TO:<b@mx.test>');
    s.answer({ action: 'accept' });
    s.send('DATA');
    s.endMessage('Subject: x\r\n\r\nbody\r\n');
    const received = s.dataCall.message.chunks[0]!.toString();
    expect(received).toMatch(
      /^Received: from client\.example \(mail\.client\.test \[192\.0\.2\.7\]\)/,
    );
  });

  it('is applied while a call is pending, and the state stays where it was', () => {
    const s = connected();
    const before = s.state.phase;
    s.dispatch(NAMED);
    expect(s.state.phase).toBe(before);
    expect(s.state.phase === 'closed' ? null : s.state.ctx.info.client.hostname).toBe(
      'mail.client.test',
    );
  });

  it('is ignored for another address (the client moved on, XCLIENT) or a client already named', () => {
    const moved = inTransaction();
    moved.dispatch({ ...NAMED, address: '192.0.2.99' });
    expect(moved.state.phase === 'closed' ? null : moved.state.ctx.info.client.hostname).toBe(
      undefined,
    );
    const named = greeted({
      info: { client: { address: '192.0.2.7', port: 1, hostname: 'given.test' } },
    });
    named.dispatch(NAMED);
    expect(named.state.phase === 'closed' ? null : named.state.ctx.info.client.hostname).toBe(
      'given.test',
    );
  });
});
