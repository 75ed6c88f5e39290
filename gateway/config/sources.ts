// Gathers raw MXHOOK_ values from flags, the environment and a .env file, highest priority first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from '../errors.ts';
import { errorCode } from './error-code.ts';
import { isBooleanWord } from './parse-scalars.ts';
import { closest } from './suggest.ts';
import {
  flagFor,
  VARIABLE_PREFIX,
  VARIABLES,
  type VariableName,
  variableForFlag,
  variableSpec,
} from './variables.ts';

export interface SourcesInput {
  /** The environment, e.g. `process.env`; only `MXHOOK_` names are looked at. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Flag arguments only, e.g. `['--listen', '0.0.0.0:25', '--require-tls']`. */
  readonly argv: readonly string[];
  /** Directory whose `.env` file is read when present; null reads none. */
  readonly cwd: string | null;
}

const NAMES: readonly string[] = VARIABLES.map((spec) => spec.name);
const FLAGS: readonly string[] = NAMES.map(flagFor);

/** A setting that was ignored rather than refused, for the gateway to log once it has a logger. */
export interface ConfigWarning {
  /** The `MXHOOK_` name at fault, e.g. `MXHOOK_SECRET`. */
  readonly variable: string;
  /** What was wrong and what was done, e.g. `unknown variable in the environment, ignored`. */
  readonly message: string;
}

export interface Settings {
  readonly values: ReadonlyMap<VariableName, string>;
  readonly warnings: readonly ConfigWarning[];
}

/**
 * Every variable that some source sets, with the value from the highest-priority source:
 * flags, then the environment, then `.env`. Unknown flags and unknown names in `.env` are
 * errors, so a typo cannot silently leave a default in place. Unknown names in the environment
 * are only warnings: the environment is shared with other programs (a function run from the
 * same shell has its own `MXHOOK_` settings), and the gateway must not refuse to start over them.
 */
export function collectSettings(input: SourcesInput): Settings {
  const values = new Map<VariableName, string>();
  const warnings: ConfigWarning[] = [];
  const layers = [
    input.cwd === null ? null : fromDotenv(input.cwd),
    fromEnvironment(input.env, (variable, hint) =>
      warnings.push({ variable, message: `unknown variable in the environment, ignored${hint}` }),
    ),
    fromFlags(input.argv),
  ];
  for (const layer of layers) {
    if (layer === null) continue;
    for (const [name, value] of layer) values.set(name, value);
  }
  return { values, warnings };
}

/** ` (did you mean MXHOOK_LISTEN?)` when a known name is close to `input`, else empty. */
function didYouMean(input: string, candidates: readonly string[]): string {
  const suggestion = closest(input, candidates);
  return suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`;
}

/** Called with an unknown `MXHOOK_` name and its did-you-mean hint; a source that refuses throws. */
type OnUnknown = (variable: string, hint: string) => void;

function fromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  onUnknown: OnUnknown,
): Map<VariableName, string> {
  const values = new Map<VariableName, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(VARIABLE_PREFIX) || value === undefined) continue;
    if (variableSpec(name) !== undefined) {
      values.set(name as VariableName, value);
      continue;
    }
    onUnknown(name, didYouMean(name, NAMES));
  }
  return values;
}

function fromDotenv(cwd: string): Map<VariableName, string> | null {
  const path = join(cwd, '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError('.env', `cannot read ${path} (${errorCode(error)})`, { cause: error });
  }
  // parseEnv only parses: process.env is left alone, so this file cannot leak settings into
  // libraries or child processes.
  return fromEnvironment(parseEnv(text), (variable, hint) => {
    throw new ConfigError(variable, `unknown variable in ${path}${hint}`);
  });
}

function fromFlags(argv: readonly string[]): Map<VariableName, string> {
  const values = new Map<VariableName, string>();
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] ?? '';
    if (!argument.startsWith('--') || argument === '--') {
      throw new ConfigError(
        'argv',
        `unexpected argument ${JSON.stringify(argument)}; settings are flags such as --listen 0.0.0.0:25`,
      );
    }
    const equals = argument.indexOf('=');
    const flagName = argument.slice(2, equals === -1 ? undefined : equals);
    const flag = `--${flagName}`;
    const name = variableForFlag(flagName);
    const spec = variableSpec(name);
    if (spec === undefined || flagFor(name) !== flag) {
      throw new ConfigError(name, `unknown flag ${flag}${didYouMean(flag, FLAGS)}`);
    }
    let value: string;
    if (equals !== -1) {
      value = argument.slice(equals + 1);
    } else {
      const next = argv[index + 1];
      const bareFlag = 'kind' in spec ? spec.kind.bareFlag : undefined;
      if (bareFlag !== undefined && (next === undefined || !isBooleanWord(next))) {
        value = bareFlag;
      } else if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(name, `flag ${flag} needs a value`);
      } else {
        value = next;
        index++;
      }
    }
    if (values.has(spec.name as VariableName)) {
      throw new ConfigError(name, `flag ${flag} is given more than once`);
    }
    values.set(spec.name as VariableName, value);
  }
  return values;
}
