// Holds one message's bytes as few Buffers, charged to a shared byte budget as they arrive.
//
// Output of at least VIEW_MIN_BYTES from one write is kept as a `subarray` view of the received
// chunk when it needed no edit, else written once into a Buffer of exactly its size. Smaller
// outputs are copied into blocks shared by consecutive writes, so a sender trickling one byte per
// TCP segment cannot make us hold one Buffer object per byte. A message's first block is only as
// large as its first output (at least 1 KiB), and each next one twice the last, up to 64 KiB: a
// small message costs one small Buffer (cut from Node's shared pool), not a 64 KiB one per
// message, which at thousands of messages a second made V8 run a full GC every 50 ms to free them.
// What is held is therefore the message size, plus the unfilled rest of one block (at most as
// large as the block before it, so about what the message holds already, or 4 KiB at the start).
// Views assume the caller never modifies a chunk after writing it; Node's net and tls sockets hand
// out a fresh Buffer for every 'data' event.

/** The shared budget for message bytes held across sessions (the shell's MemoryBudget). */
export interface ByteBudget {
  /** Takes `bytes` from the budget, or returns false (taking nothing) when they do not fit. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

export const UNLIMITED_BUDGET: ByteBudget = Object.freeze({
  reserve: () => true,
  release: () => {},
});

/**
 * Edits turning a received chunk into message bytes, in order: `p >= 0` inserts a CR before
 * chunk[p]; `-(p + 1)` removes the byte (a stuffed dot) at chunk[p]. One number per edit keeps a
 * flood of bare LFs or stuffed dots cheap.
 */
export type Edits = readonly number[];

const CR = 0x0d;
/** Output of one write at least this long gets a Buffer (or view) of its own instead of a block. */
const VIEW_MIN_BYTES = 4096;
/** Smallest and largest block that small outputs are copied into. */
const FIRST_BLOCK_BYTES = 1024;
const MAX_BLOCK_BYTES = 64 * 1024;
/** Below this length a byte loop beats the fixed cost of `Buffer.prototype.copy`. */
const SHORT_COPY_BYTES = 16;

/** Told each kept piece of the message as it is kept, in order (for checks that read as it arrives). */
export type MessageSink = (bytes: Buffer) => void;

export class MessageBlocks {
  readonly #budget: ByteBudget;
  readonly #sink: MessageSink | null;
  #reservedBytes = 0;
  /** Held pieces, in order. */
  #chunks: Buffer[] = [];
  /** Current copy block; the bytes in [#blockSealed, #blockFill) are not yet in #chunks. */
  #block: Buffer | null = null;
  #blockFill = 0;
  #blockSealed = 0;
  /** Size of the next block; doubles with each, from FIRST_BLOCK_BYTES to MAX_BLOCK_BYTES. */
  #nextBlockBytes = FIRST_BLOCK_BYTES;

  constructor(budget: ByteBudget, sink: MessageSink | null = null) {
    this.#budget = budget;
    this.#sink = sink;
  }

  /** Bytes charged to the budget, until `release`. */
  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  /**
   * Keeps chunk[0, end) with `edits` applied, which is `total` bytes long. Returns false, keeping
   * nothing and having released everything, when the budget has no room for them.
   */
  append(chunk: Buffer, end: number, edits: Edits, total: number): boolean {
    if (total === 0) return true;
    if (!this.#budget.reserve(total)) {
      this.release();
      return false;
    }
    this.#reservedBytes += total;
    if (total >= VIEW_MIN_BYTES) {
      this.#seal();
      let output = chunk.subarray(0, end);
      if (edits.length > 0) {
        output = Buffer.allocUnsafe(total);
        applyEdits(chunk, end, edits, output, 0);
      }
      this.#chunks.push(output);
      this.#sink?.(output);
      return true;
    }
    let block = this.#block;
    if (block === null || block.length - this.#blockFill < total) {
      this.#seal();
      block = Buffer.allocUnsafe(Math.max(this.#nextBlockBytes, total));
      this.#nextBlockBytes = Math.min(2 * block.length, MAX_BLOCK_BYTES);
      this.#block = block;
      this.#blockFill = 0;
      this.#blockSealed = 0;
    }
    const from = this.#blockFill;
    this.#blockFill = applyEdits(chunk, end, edits, block, from);
    // The block only ever grows past what is written: the view stays valid while the block lives.
    this.#sink?.(block.subarray(from, this.#blockFill));
    return true;
  }

  /** The pieces held, in order; they stay charged to the budget until `release`. */
  take(): Buffer[] {
    this.#seal();
    const chunks = this.#chunks;
    this.#drop();
    return chunks;
  }

  /** Drops what is held and gives its bytes back to the budget. */
  release(): void {
    this.#drop();
    this.#budget.release(this.#reservedBytes);
    this.#reservedBytes = 0;
  }

  /** Moves the not yet listed part of the copy block into #chunks, keeping message order. */
  #seal(): void {
    const block = this.#block;
    if (block !== null && this.#blockFill > this.#blockSealed) {
      this.#chunks.push(block.subarray(this.#blockSealed, this.#blockFill));
      this.#blockSealed = this.#blockFill;
    }
  }

  #drop(): void {
    this.#chunks = [];
    this.#block = null;
    this.#blockFill = 0;
    this.#blockSealed = 0;
  }
}

/** Writes source[0, end) with `edits` applied into target at `at`; returns the end offset. */
function applyEdits(source: Buffer, end: number, edits: Edits, target: Buffer, at: number): number {
  let from = 0;
  let to = at;
  for (const edit of edits) {
    if (edit >= 0) {
      to = copySpan(source, from, edit, target, to);
      target[to++] = CR;
      from = edit;
    } else {
      const removed = -edit - 1;
      to = copySpan(source, from, removed, target, to);
      from = removed + 1;
    }
  }
  return copySpan(source, from, end, target, to);
}

function copySpan(source: Buffer, from: number, end: number, target: Buffer, at: number): number {
  const count = end - from;
  if (count > SHORT_COPY_BYTES) return at + source.copy(target, at, from, end);
  let to = at;
  for (let k = from; k < end; k += 1) target[to++] = source[k]!;
  return to;
}
