// Counts message bytes held across all sessions, so a message that would pass it is refused (452 4.3.1).

export class MemoryBudget {
  readonly #limitBytes: number;
  #heldBytes = 0;
  #highWaterBytes = 0;

  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes;
  }

  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** The most ever held at once, to show the limit holds. */
  get highWaterBytes(): number {
    return this.#highWaterBytes;
  }

  isOver(): boolean {
    return this.#heldBytes >= this.#limitBytes;
  }

  /** Takes `bytes` if they fit under the limit; a message's bytes are charged this way as they arrive. */
  reserve(bytes: number): boolean {
    if (this.#heldBytes + bytes > this.#limitBytes) return false;
    this.change(bytes);
    return true;
  }

  release(bytes: number): void {
    this.change(-bytes);
  }

  /** Adjusts the held total by the change in one holder's bytes. */
  change(deltaBytes: number): void {
    this.#heldBytes += deltaBytes;
    if (this.#heldBytes > this.#highWaterBytes) this.#highWaterBytes = this.#heldBytes;
  }
}
