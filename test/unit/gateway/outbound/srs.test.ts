// SRS (srs.ts) against the vectors postsrsd publishes for its libsrs2-compatible implementation
// (secret `tops3cr3t`, domain example.com, clock at 2020-01-01 00:01 UTC): the same addresses
// must come out, and its addresses must decode here.
import { describe, expect, it } from 'vitest';
import { isSrsAddress, srsForward, srsReverse } from '../../../../gateway/outbound/srs.ts';

const SETTINGS = { secrets: ['tops3cr3t'], domain: 'example.com' };
const NOW = Date.parse('2020-01-01T00:01:00Z');
const DAY_MS = 86_400_000;

describe('srsForward', () => {
  it("rewrites a sender as postsrsd does (SRS0, today's stamp)", () => {
    expect(srsForward('test@otherdomain.com', SETTINGS, NOW)).toBe(
      'SRS0=vmyz=2W=otherdomain.com=test@example.com',
    );
  });

  it('keeps the null sender null, and leaves an address of the SRS domain alone', () => {
    expect(srsForward('', SETTINGS, NOW)).toBe('');
    expect(srsForward('test@Example.com', SETTINGS, NOW)).toBe('test@Example.com');
  });

  it("guards another forwarder's SRS0 address as SRS1, and re-signs an SRS1 one (postsrsd)", () => {
    expect(srsForward('SRS0=opaque+string@otherdomain.com', SETTINGS, NOW)).toMatch(
      /^SRS1=[A-Za-z0-9+/]{4}=otherdomain\.com==opaque\+string@example\.com$/,
    );
    expect(srsForward('SRS1=X=thirddomain.com==opaque+string@otherdomain.com', SETTINGS, NOW)).toBe(
      'SRS1=JIBX=thirddomain.com==opaque+string@example.com',
    );
  });

  it('signs with the first secret when several are configured', () => {
    const rotated = { ...SETTINGS, secrets: ['tops3cr3t', 'older-secret'] };
    expect(srsForward('test@otherdomain.com', rotated, NOW)).toBe(
      'SRS0=vmyz=2W=otherdomain.com=test@example.com',
    );
  });
});

describe('srsReverse', () => {
  it("decodes postsrsd's SRS0 and SRS1 addresses", () => {
    expect(srsReverse('SRS0=XjO9=2V=otherdomain.com=test@example.com', SETTINGS, NOW)).toEqual({
      ok: true,
      address: 'test@otherdomain.com',
    });
    expect(
      srsReverse('SRS1=JIBX=thirddomain.com==opaque+string@example.com', SETTINGS, NOW),
    ).toEqual({ ok: true, address: 'SRS0=opaque+string@thirddomain.com' });
  });

  it('compares the hash and the stamp without regard to case (postsrsd "munged case")', () => {
    expect(srsReverse('srs0=xjo9=2v=otherdomain.com=test@example.com', SETTINGS, NOW)).toEqual({
      ok: true,
      address: 'test@otherdomain.com',
    });
    expect(srsReverse('SRS0=XJO9=2V=OTHERDOMAIN.COM=TEST@EXAMPLE.COM', SETTINGS, NOW)).toEqual({
      ok: true,
      address: 'TEST@OTHERDOMAIN.COM',
    });
  });

  it('refuses a stamp six months old or six months ahead, and a forged hash', () => {
    for (const address of [
      'SRS0=te87=T7=otherdomain.com=test@example.com',
      'SRS0=VcIb=7N=otherdomain.com=test@example.com',
    ]) {
      expect(srsReverse(address, SETTINGS, NOW)).toEqual({
        ok: false,
        reason: 'time stamp out of date',
      });
    }
    expect(srsReverse('SRS0=FAKE=2V=otherdomain.com=test@example.com', SETTINGS, NOW)).toEqual({
      ok: false,
      reason: 'hash invalid',
    });
  });

  it('accepts its own address for 21 days and no longer', () => {
    const address = srsForward('alice@sender.test', SETTINGS, NOW);
    expect(srsReverse(address, SETTINGS, NOW + 21 * DAY_MS).ok).toBe(true);
    expect(srsReverse(address, SETTINGS, NOW + 22 * DAY_MS)).toMatchObject({ ok: false });
  });

  it('verifies with every secret, so rotation keeps older addresses valid', () => {
    const old = srsForward('alice@sender.test', { ...SETTINGS, secrets: ['old-secret'] }, NOW);
    const rotated = { ...SETTINGS, secrets: ['new-secret', 'old-secret'] };
    expect(srsReverse(old, rotated, NOW)).toEqual({ ok: true, address: 'alice@sender.test' });
    expect(srsReverse(old, SETTINGS, NOW)).toMatchObject({ ok: false, reason: 'hash invalid' });
  });

  it('refuses addresses without every part (postsrsd: no hash, time, host, user)', () => {
    for (const address of [
      'SRS0=@example.com',
      'SRS0=XjO9@example.com',
      'SRS0=XjO9=2V@example.com',
      'SRS0=XjO9=2V=otherdomain.com@example.com',
    ]) {
      expect(srsReverse(address, SETTINGS, NOW).ok).toBe(false);
    }
  });

  it('refuses an address that is not SRS or not at the SRS domain', () => {
    expect(srsReverse('test@example.com', SETTINGS, NOW)).toMatchObject({ ok: false });
    expect(
      srsReverse('SRS0=XjO9=2V=otherdomain.com=test@elsewhere.com', SETTINGS, NOW),
    ).toMatchObject({ ok: false });
    expect(isSrsAddress('SRS0=XjO9=2V=otherdomain.com=test@EXAMPLE.com', SETTINGS)).toBe(true);
    expect(isSrsAddress('srsbob@example.com', SETTINGS)).toBe(false);
  });
});
