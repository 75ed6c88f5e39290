// Authentication-Results: the value the gateway writes, and the removal of forged ones (RFC 8601 §5).
import { describe, expect, it } from 'vitest';
import {
  resultsHeader,
  resultsValue,
  withoutForgedResults,
} from '../../../../gateway/authentication/results-header.ts';

const ID = 'mx.example';

function strip(message: string, splitAt: readonly number[] = []): string {
  const bytes = Buffer.from(message, 'latin1');
  const cuts = [0, ...splitAt, bytes.length];
  const chunks = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
  return Buffer.concat(withoutForgedResults(chunks, ID)).toString('latin1');
}

describe('resultsValue', () => {
  it('puts each result on its own folded line, separated by semicolons', () => {
    expect(resultsValue(ID, ['spf=pass smtp.mailfrom=a@b.test', 'dkim=none'])).toBe(
      'mx.example;\r\n\tspf=pass smtp.mailfrom=a@b.test;\r\n\tdkim=none',
    );
  });

  it('says none when no check has a result (§2.2)', () => {
    expect(resultsValue(ID, [])).toBe('mx.example; none');
  });

  it('never lets a sender-chosen name break the header into new lines', () => {
    const value = resultsValue(ID, ['dmarc=fail header.from=evil.test\r\nX-Injected: yes']);
    expect(value).not.toMatch(/\r\n(?!\t)/);
    expect(resultsHeader(value).toString()).toBe(
      'Authentication-Results: mx.example;\r\n\tdmarc=fail header.from=evil.test X-Injected: yes\r\n',
    );
  });
});

describe('withoutForgedResults', () => {
  const body = '\r\nAuthentication-Results: mx.example; dkim=pass\r\n';

  it('returns the very same chunks when no header claims our id', () => {
    const chunks = [
      Buffer.from(`Subject: x\r\nAuthentication-Results: other.test; spf=pass\r\n${body}`),
    ];
    expect(withoutForgedResults(chunks, ID)).toBe(chunks);
  });

  it.each([
    ['plain', 'Authentication-Results: mx.example; dmarc=pass\r\n'],
    ['another case', 'authentication-RESULTS: MX.Example; dmarc=pass\r\n'],
    ['folded', 'Authentication-Results:\r\n\tmx.example;\r\n\tdmarc=pass\r\n'],
    ['after a comment', 'Authentication-Results: (forged (nested)) mx.example; spf=pass\r\n'],
    ['quoted', 'Authentication-Results: "mx.example"; spf=pass\r\n'],
    ['with a version', 'Authentication-Results: mx.example 1; spf=pass\r\n'],
    ['space before the colon', 'Authentication-Results : mx.example; spf=pass\r\n'],
    ['no results', 'Authentication-Results: mx.example; none\r\n'],
  ])('removes one that claims our id: %s', (_, forged) => {
    const message = `From: a@b.test\r\n${forged}Subject: x\r\n${body}`;
    expect(strip(message)).toBe(`From: a@b.test\r\nSubject: x\r\n${body}`);
  });

  it('keeps those of other hosts, even one whose id starts like ours', () => {
    const message =
      'Authentication-Results: mx.example.evil; spf=pass\r\n' +
      'Authentication-Results: relay.test; arc=pass\r\n' +
      `Subject: x\r\n${body}`;
    expect(strip(message)).toBe(message);
  });

  it('leaves the body alone, and finds the header end split across chunks', () => {
    const message = `Authentication-Results: mx.example; spf=pass\r\nSubject: x\r\n${body}`;
    const expected = `Subject: x\r\n${body}`;
    for (let split = 1; split < message.length; split++) {
      expect(strip(message, [split])).toBe(expected);
    }
  });

  it('handles a message that is all header, and one with no header at all', () => {
    expect(strip('Authentication-Results: mx.example; spf=pass\r\nSubject: x\r\n', [7, 30])).toBe(
      'Subject: x\r\n',
    );
    expect(strip(body)).toBe(body);
  });
});
