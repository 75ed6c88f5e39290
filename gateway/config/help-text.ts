// The `mxhook --help` text: every setting with its flag, variable, default and meaning, aligned.
import { flagFor, VARIABLES } from './variables.ts';

const WIDTH = 100;
const INDENT = '  ';
const MEANING_INDENT = '      ';

export function helpText(): string {
  const rows = VARIABLES.map((spec) => ({
    flag: `${flagFor(spec.name)} ${spec.placeholder}`,
    variable: spec.name,
    defaultText: spec.defaultText,
    meaning: spec.meaning,
  }));
  const flagWidth = Math.max(...rows.map((row) => row.flag.length));
  const variableWidth = Math.max(...rows.map((row) => row.variable.length));
  const lines = [
    'Usage: mxhook serve [--flag value ...]',
    '',
    ...wrap(
      'Every setting is a flag or an MXHOOK_ environment variable of the same name; a .env file in the working directory is read too. Flags win over the environment, the environment over .env. An empty value means the default. Durations are in seconds; lists are comma-separated; booleans are true/false, yes/no or 1/0, and a boolean flag alone means true.',
      '',
    ),
    '',
    `${INDENT}${'FLAG'.padEnd(flagWidth)}  ${'VARIABLE'.padEnd(variableWidth)}  DEFAULT`,
  ];
  for (const row of rows) {
    lines.push(
      `${INDENT}${row.flag.padEnd(flagWidth)}  ${row.variable.padEnd(variableWidth)}  ${row.defaultText}`,
      ...wrap(row.meaning, MEANING_INDENT),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Greedy word wrap to WIDTH columns, each line starting with `indent`. */
function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(`${indent}${line}`);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(`${indent}${line}`);
  return lines;
}
