// Parsers for single values: whole numbers, seconds, booleans and one-of-a-list words.
import { ConfigError } from '../errors.ts';

/**
 * Node timers fire at once (with a warning) for delays over 2^31-1 ms, so a longer timeout
 * would silently become zero.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A whole number such as `10485760`; `unit` names what it counts, for the message. */
export function parseWholeNumber(variable: string, raw: string, unit: string, minimum = 1): number {
  const text = raw.trim();
  if (!/^[0-9]+$/.test(text)) {
    throw new ConfigError(variable, `${JSON.stringify(raw)} is not a whole number of ${unit}`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new ConfigError(variable, `${text} is too large`);
  }
  if (value < minimum) {
    throw new ConfigError(variable, `must be at least ${minimum}, not ${value}`);
  }
  return value;
}

/**
 * Seconds at the configuration boundary, milliseconds inside: `0.5` → 500. Fractions finer
 * than a millisecond are rounded.
 */
export function parseSecondsAsMs(variable: string, raw: string, allowZero = false): number {
  const text = raw.trim();
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text)) {
    throw new ConfigError(variable, `${JSON.stringify(raw)} is not a number of seconds`);
  }
  const ms = Math.round(Number(text) * 1000);
  if (ms === 0 && !(allowZero && Number(text) === 0)) {
    throw new ConfigError(
      variable,
      `must be at least 0.001 seconds${allowZero ? ' or exactly 0' : ''}, not ${text}`,
    );
  }
  if (ms > MAX_TIMER_MS) {
    throw new ConfigError(
      variable,
      `must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24 days), not ${text}`,
    );
  }
  return ms;
}

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);

export function parseBoolean(variable: string, raw: string): boolean {
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new ConfigError(
    variable,
    `${JSON.stringify(raw)} is not a boolean (true, false, yes, no, 1 or 0)`,
  );
}

/** One word from a fixed list, compared case-insensitively. */
export function parseOneOf<const T extends string>(
  variable: string,
  raw: string,
  choices: readonly T[],
): T {
  const word = raw.trim().toLowerCase();
  const choice = choices.find((candidate) => candidate === word);
  if (choice === undefined) {
    throw new ConfigError(variable, `${JSON.stringify(raw)} is not one of ${choices.join(', ')}`);
  }
  return choice;
}

/** Comma-separated items, trimmed; an empty item (`a,,b`, `a,`) is an error, not skipped. */
export function splitList(variable: string, raw: string): string[] {
  if (raw.trim() === '') return [];
  const items = raw.split(',').map((item) => item.trim());
  if (items.includes('')) {
    throw new ConfigError(
      variable,
      'the list has an empty entry (two commas in a row or a comma at an end)',
    );
  }
  return items;
}
