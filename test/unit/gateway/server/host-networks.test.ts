// How long a host name's addresses in an access list are kept before it is resolved again.
import { describe, expect, it } from 'vitest';
import { HOST_TTL_CAP_MS, refreshDelayMs } from '../../../../gateway/server/host-networks.ts';

describe('refreshDelayMs', () => {
  it('follows the TTL between the floor and the cap', () => {
    expect(refreshDelayMs(300, 30_000)).toBe(300_000);
    expect(refreshDelayMs(0, 30_000)).toBe(30_000);
    expect(refreshDelayMs(5, 30_000)).toBe(30_000);
    expect(refreshDelayMs(86_400, 30_000)).toBe(HOST_TTL_CAP_MS);
    expect(HOST_TTL_CAP_MS).toBe(3_600_000);
  });
});
