// A parser for the YAML subset infra/kubernetes/ is written in (no yaml package is installed).
//
// Supported: one document; block mappings and sequences indented with spaces; `- key: value`
// items; plain, 'single' and "double" quoted scalars; flow sequences of scalars (`["a", "b"]`);
// comments. Anything else — anchors, aliases, tags, block scalars, flow mappings, several
// documents, tabs, duplicate keys, YAML 1.1 booleans like `yes` — is refused with an error, so a
// manifest that parses here means the same to this parser as to Kubernetes' own.

export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  readonly indent: number;
  readonly text: string;
  readonly number: number;
}

export function parseYamlSubset(source: string): Yaml {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, index) => {
    const number = index + 1;
    if (raw.includes('\t')) fail(number, 'tab characters are not allowed');
    const text = stripComment(raw, number).trimEnd();
    if (text.trim() === '') return;
    if (text === '---' || text === '...') fail(number, 'only one document per file');
    lines.push({ indent: text.length - text.trimStart().length, text: text.trimStart(), number });
  });
  if (lines.length === 0) return null;
  const cursor = { at: 0 };
  const value = parseBlock(lines, cursor, lines[0]!.indent);
  if (cursor.at < lines.length) fail(lines[cursor.at]!.number, 'unexpected indentation');
  return value;
}

function parseBlock(lines: Line[], cursor: { at: number }, indent: number): Yaml {
  const first = lines[cursor.at]!;
  if (first.indent !== indent) fail(first.number, 'unexpected indentation');
  return first.text.startsWith('- ') || first.text === '-'
    ? parseSequence(lines, cursor, indent)
    : parseMapping(lines, cursor, indent);
}

function parseSequence(lines: Line[], cursor: { at: number }, indent: number): Yaml[] {
  const items: Yaml[] = [];
  while (cursor.at < lines.length) {
    const line = lines[cursor.at]!;
    if (line.indent < indent) break;
    if (line.indent > indent) fail(line.number, 'unexpected indentation');
    // A sequence written at its key's indentation ends where that mapping's next key starts.
    if (!line.text.startsWith('- ')) break;
    const rest = line.text.slice(2).trimStart();
    const itemIndent = indent + (line.text.length - rest.length);
    if (isMappingEntry(rest)) {
      // `- key: value` opens a mapping whose other keys are indented like `key`.
      lines[cursor.at] = { indent: itemIndent, text: rest, number: line.number };
      items.push(parseMapping(lines, cursor, itemIndent));
    } else {
      cursor.at++;
      items.push(parseScalarOrFlow(rest, line.number));
    }
  }
  return items;
}

function parseMapping(
  lines: Line[],
  cursor: { at: number },
  indent: number,
): { [key: string]: Yaml } {
  const mapping: { [key: string]: Yaml } = {};
  while (cursor.at < lines.length) {
    const line = lines[cursor.at]!;
    if (line.indent < indent) break;
    if (line.indent > indent) fail(line.number, 'unexpected indentation');
    const match = /^("[^"]*"|'[^']*'|[A-Za-z0-9_./-]+):(?: (.*))?$/.exec(line.text);
    if (match === null) fail(line.number, 'expected `key: value`');
    const key = /^["']/.test(match[1]!) ? match[1]!.slice(1, -1) : match[1]!;
    if (Object.hasOwn(mapping, key)) fail(line.number, `duplicate key ${key}`);
    cursor.at++;
    const inline = match[2]?.trim() ?? '';
    if (inline !== '') {
      mapping[key] = parseScalarOrFlow(inline, line.number);
      continue;
    }
    const next = lines[cursor.at];
    // A sequence may sit at the same indentation as its key (`key:\n- item`).
    if (
      next !== undefined &&
      (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')))
    )
      mapping[key] = parseBlock(lines, cursor, next.indent);
    else mapping[key] = null;
  }
  return mapping;
}

function isMappingEntry(text: string): boolean {
  return /^("[^"]*"|'[^']*'|[A-Za-z0-9_./-]+):(?: |$)/.test(text);
}

function parseScalarOrFlow(text: string, number: number): Yaml {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) fail(number, 'a flow sequence must end on its line');
    const inner = text.slice(1, -1).trim();
    if (inner === '') return [];
    return splitFlow(inner, number).map((item) => parseScalar(item.trim(), number));
  }
  return parseScalar(text, number);
}

function splitFlow(inner: string, number: number): string[] {
  const items: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (let i = 0; i < inner.length; i++) {
    const char = inner[i]!;
    if (quote !== null) {
      current += char;
      if (char === '\\' && quote === '"') current += inner[++i] ?? '';
      else if (char === quote) quote = null;
    } else if (char === '"' || char === "'") {
      quote = char;
      current += char;
    } else if (char === ',') {
      items.push(current);
      current = '';
    } else if ('[]{}'.includes(char)) fail(number, 'nested flow collections are not supported');
    else current += char;
  }
  if (quote !== null) fail(number, 'unterminated quoted scalar');
  items.push(current);
  return items;
}

function parseScalar(text: string, number: number): Yaml {
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) fail(number, 'unterminated quoted scalar');
    return JSON.parse(text) as string; // YAML double-quoted escapes ⊇ the JSON ones used here
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) fail(number, 'unterminated quoted scalar');
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[&*!|>%@`{[\]},#]/.test(text)) fail(number, `unsupported YAML syntax: ${text}`);
  if (/: |\s#/.test(text)) fail(number, `ambiguous plain scalar: ${text}`);
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null' || text === '~') return null;
  // YAML 1.1 (which some Kubernetes tooling still follows) reads these as booleans; YAML 1.2 does not.
  if (/^(y|n|yes|no|on|off)$/i.test(text))
    fail(number, `quote ${text}: YAML 1.1 reads it as a boolean`);
  if (/^0[0-9]+$/.test(text)) fail(number, `quote ${text}: YAML 1.1 reads it as octal`);
  if (/^-?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
  if (/^-?(0|[1-9][0-9]*)\.[0-9]+$/.test(text)) return Number(text);
  return text;
}

/** Removes a comment: `#` at the start, or after a space, outside quotes. */
function stripComment(raw: string, number: number): string {
  let quote: string | null = null;
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (quote !== null) {
      if (char === '\\' && quote === '"') i++;
      else if (char === quote) quote = null;
    } else if (char === '"' || char === "'") {
      // A quote opens a quoted scalar only where a value starts (not in `don't`).
      const before = raw.slice(0, i).trimEnd();
      if (before === '' || /[:[,-]$/.test(before)) quote = char;
    } else if (char === '#' && (i === 0 || raw[i - 1] === ' ')) return raw.slice(0, i);
  }
  if (quote !== null) fail(number, 'unterminated quoted scalar');
  return raw;
}

function fail(number: number, why: string): never {
  throw new Error(`line ${number}: ${why}`);
}
