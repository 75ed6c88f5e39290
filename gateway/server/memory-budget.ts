// Counts message bytes held across all sessions, so new DATA is refused (452 4.3.1) before memory runs out.

export class MemoryBudget {
  readonly #limitBytes: number;
  #heldBytes = 0;

  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes;
  }

  get heldBytes(): number {
    return this.#heldBytes;
  }

  isOver(): boolean {
    return this.#heldBytes >= this.#limitBytes;
  }

  /** Adjusts the held total by the change in one holder's bytes. */
  change(deltaBytes: number): void {
    this.#heldBytes += deltaBytes;
  }
}
