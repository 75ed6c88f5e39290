// Kinds for single values and word lists: whole numbers, seconds, booleans, one-of words, steps.
import { STEPS, type Step } from '../../functions/sdk/wire.ts';
import { ConfigError } from '../errors.ts';
import type { Kind } from './kind.ts';

/**
 * Node timers fire at once (with a warning) for delays over 2^31-1 ms, so a longer timeout
 * would silently become zero.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

function refuse(variable: string, problem: string | null): void {
  if (problem !== null) throw new ConfigError(variable, problem);
}

/** A whole number such as `10485760`; `unit` names what it counts, for the message. */
export function wholeNumber(unit: string, minimum = 1): Kind<number> {
  const check = (value: number): string | null => {
    if (!Number.isSafeInteger(value)) return `${value} is not a whole number of ${unit}`;
    return value < minimum ? `must be at least ${minimum}, not ${value}` : null;
  };
  return {
    parse(raw, { variable }) {
      const text = raw.trim();
      if (!/^[0-9]+$/.test(text)) {
        throw new ConfigError(variable, `${JSON.stringify(raw)} is not a whole number of ${unit}`);
      }
      const value = Number(text);
      if (!Number.isSafeInteger(value)) throw new ConfigError(variable, `${text} is too large`);
      refuse(variable, check(value));
      return value;
    },
    check,
  };
}

/**
 * Seconds at the configuration boundary, milliseconds inside: `0.5` → 500. Fractions finer
 * than a millisecond are rounded. With `zeroAllowed`, exactly 0 is a value of its own (for a
 * grace period: none at all).
 */
export function seconds({ zeroAllowed = false } = {}): Kind<number> {
  /** `shown` is the value as the user wrote it, in seconds. */
  const problem = (ms: number, shown: string): string | null => {
    if (!(ms >= 1) && !(zeroAllowed && ms === 0)) {
      return `must be at least 0.001 seconds${zeroAllowed ? ' or exactly 0' : ''}, not ${shown}`;
    }
    if (ms > MAX_TIMER_MS) {
      return `must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24 days), not ${shown}`;
    }
    return null;
  };
  return {
    parse(raw, { variable }) {
      const text = raw.trim();
      if (!/^[0-9]+(\.[0-9]+)?$/.test(text)) {
        throw new ConfigError(variable, `${JSON.stringify(raw)} is not a number of seconds`);
      }
      const exact = Number(text) * 1000;
      const ms = Math.round(exact);
      // Checked unrounded when it rounds to 0, so 0.0001 is refused rather than taken as 0.
      refuse(variable, problem(ms === 0 ? exact : ms, text));
      return ms;
    },
    check: (ms) => problem(ms, String(ms / 1000)),
  };
}

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);

/** Whether `text`, exactly as given, is a boolean: after a bare boolean flag, it is its value. */
export function isBooleanWord(text: string): boolean {
  const word = text.toLowerCase();
  return TRUE_WORDS.has(word) || FALSE_WORDS.has(word);
}

export const BOOLEAN: Kind<boolean> = {
  parse(raw, { variable }) {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    throw new ConfigError(
      variable,
      `${JSON.stringify(raw)} is not a boolean (true, false, yes, no, 1 or 0)`,
    );
  },
  check: (value) =>
    typeof value === 'boolean' ? null : `${JSON.stringify(value)} is not a boolean`,
  bareFlag: 'true',
};

/** One word from a fixed list, compared case-insensitively. */
export function oneOf<const T extends string>(choices: readonly T[]): Kind<T> {
  const problem = (value: string) => `${JSON.stringify(value)} is not one of ${choices.join(', ')}`;
  return {
    parse(raw, { variable }) {
      const word = raw.trim().toLowerCase();
      const choice = choices.find((candidate) => candidate === word);
      if (choice === undefined) throw new ConfigError(variable, problem(raw));
      return choice;
    },
    check: (value) => (choices.includes(value) ? null : problem(value)),
  };
}

/**
 * Every member of the string union T, as a list: for a type defined elsewhere (the SMTP core's
 * policies), the compiler then refuses a list that misses a member.
 */
export function allOf<T extends string>() {
  return <const L extends readonly T[]>(
    values: L & ([Exclude<T, L[number]>] extends [never] ? unknown : never),
  ): L => values;
}

/**
 * The greeting line is `220 <hostname> <banner>` plus CRLF, at most 512 octets (RFC 5321
 * §4.5.3.1.5); with the longest hostname (255 octets) that leaves 250 for the banner.
 */
const MAX_BANNER_OCTETS = 250;

function bannerProblem(text: string): string | null {
  if (text === '') return 'must not be empty';
  // RFC 5321 §4.2 textstring: printable ASCII and spaces; a CR or LF would end the line early.
  if (!/^[\x20-\x7e]+$/.test(text)) {
    return `${JSON.stringify(text)} has a character that is not printable ASCII`;
  }
  return text.length > MAX_BANNER_OCTETS
    ? `is ${text.length} characters long, more than ${MAX_BANNER_OCTETS} (the greeting must fit in one 512-octet line)`
    : null;
}

/** The text after the hostname in the 220 greeting, trimmed. */
export const BANNER: Kind<string> = {
  parse(raw, { variable }) {
    const text = raw.trim();
    refuse(variable, bannerProblem(text));
    return text;
  },
  check: bannerProblem,
};

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

/**
 * A comma-separated list of words from `choices`, any case, duplicates allowed; returned in
 * `choices` order. `none` alone is the empty list: an empty value means "the default" in every
 * source (flag, environment, `.env`), so emptiness needs a word of its own.
 */
export function wordList<const T extends string>(
  choices: readonly T[],
  what: string,
): Kind<readonly T[]> {
  return {
    parse(raw, { variable }) {
      if (raw.trim().toLowerCase() === 'none') return [];
      const wanted = new Set<string>();
      for (const item of splitList(variable, raw)) {
        const word = item.toLowerCase();
        if (!(choices as readonly string[]).includes(word)) {
          throw new ConfigError(
            variable,
            `${JSON.stringify(item)} is not ${what} (${choices.join(', ')})`,
          );
        }
        wanted.add(word);
      }
      return choices.filter((choice) => wanted.has(choice));
    },
    check: (values) =>
      values.find((value) => !choices.includes(value)) === undefined
        ? null
        : `every entry must be one of ${choices.join(', ')}`,
  };
}

/** Steps in session order, any case, duplicates allowed; `data` is always called (the one promise). */
export const STEP_LIST: Kind<readonly Step[]> = {
  parse(raw, { variable }) {
    const wanted = new Set<string>(['data']);
    for (const step of splitList(variable, raw)) {
      const name = step.toLowerCase();
      if (!(STEPS as readonly string[]).includes(name)) {
        throw new ConfigError(
          variable,
          `${JSON.stringify(step)} is not a step (${STEPS.join(', ')})`,
        );
      }
      wanted.add(name);
    }
    return STEPS.filter((step) => wanted.has(step));
  },
};
