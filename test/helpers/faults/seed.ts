// Seeded randomness for fault and fuzz runs: MXHOOK_TEST_SEED replays a run; failures print the seed.

/** The run's seed: MXHOOK_TEST_SEED when set, else a fresh one (printed when a test fails). */
export function testSeed(): number {
  const given = process.env.MXHOOK_TEST_SEED;
  if (given !== undefined && given !== '') return Number(given) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** mulberry32: small, fast, and good enough to pick test inputs. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Runs `body`; if it throws, the error names the seed so the run can be replayed. */
export async function withSeed<T>(seed: number, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n(replay with MXHOOK_TEST_SEED=${seed})`, { cause: error });
  }
}
