// A small parser for the Prometheus text exposition format (0.0.4), so tests assert on values, not text.
//
// Format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
// Lines are `# HELP name text`, `# TYPE name type`, other comments, blank lines, or samples
// `name{label="value",...} value [timestamp]`, label values escaping `\\`, `\"` and `\n`.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  /** By metric family name (for a histogram: `x`, whose samples are `x_bucket`, `x_sum`, `x_count`). */
  readonly families: ReadonlyMap<string, Family>;
  /** The one sample with exactly these labels; throws when there is none. */
  value(name: string, labels?: Readonly<Record<string, string>>): number;
  /** Every sample of `name` whose labels include `labels`. */
  select(name: string, labels?: Readonly<Record<string, string>>): Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parsePrometheus(text: string): Exposition {
  const samples: Sample[] = [];
  const families = new Map<string, { name: string; type: string; help: string }>();
  const family = (name: string) => {
    let entry = families.get(name);
    if (entry === undefined) {
      entry = { name, type: 'untyped', help: '' };
      families.set(name, entry);
    }
    return entry;
  };
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (match === null) return; // a plain comment
      const entry = family(match[2]!);
      if (match[1] === 'TYPE') {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(match[3]!))
          throw new Error(`bad TYPE at ${where}`);
        entry.type = match[3]!;
      } else entry.help = match[3]!.replaceAll('\\n', '\n').replaceAll('\\\\', '\\');
      return;
    }
    samples.push(parseSample(line, where));
  });

  const matches = (sample: Sample, labels: Readonly<Record<string, string>>) =>
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value);
  const select = (name: string, labels: Readonly<Record<string, string>> = {}) =>
    samples.filter((sample) => sample.name === name && matches(sample, labels));
  return {
    samples,
    families,
    select,
    value(name, labels = {}) {
      const exact = select(name, labels).filter(
        (sample) => Object.keys(sample.labels).length === Object.keys(labels).length,
      );
      if (exact.length !== 1) {
        throw new Error(
          `expected one sample ${name}${JSON.stringify(labels)}, found ${exact.length} (of ${select(name).length} ${name} samples)`,
        );
      }
      return exact[0]!.value;
    },
  };
}

function parseSample(line: string, where: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new Error(`no metric name at ${where}`);
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    while (line[at] !== '}') {
      const labelName = LABEL_NAME.exec(line.slice(at))?.[0];
      if (
        labelName === undefined ||
        line[at + labelName.length] !== '=' ||
        line[at + labelName.length + 1] !== '"'
      )
        throw new Error(`bad label at ${where}`);
      at += labelName.length + 2;
      let value = '';
      for (;;) {
        const char = line[at++];
        if (char === undefined) throw new Error(`unterminated label value at ${where}`);
        if (char === '"') break;
        if (char === '\\') {
          const escaped = line[at++];
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else throw new Error(`bad escape at ${where}`);
        } else value += char;
      }
      if (labelName in labels) throw new Error(`repeated label ${labelName} at ${where}`);
      labels[labelName] = value;
      if (line[at] === ',') at++;
      else if (line[at] !== '}') throw new Error(`expected , or } at ${where}`);
    }
    at++;
  }
  const rest = line.slice(at).trim().split(/\s+/);
  if (line[at] !== ' ' || rest.length < 1 || rest.length > 2)
    throw new Error(`bad value at ${where}`);
  try {
    return { name, labels, value: parseValue(rest[0]!) };
  } catch {
    throw new Error(`bad value at ${where}`);
  }
}

/** As Prometheus reads values (Go's strconv.ParseFloat): NaN and Inf in any letter case. */
function parseValue(text: string): number {
  if (/^nan$/i.test(text)) return Number.NaN;
  if (/^[+]?inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`not a number: ${text}`);
  return Number(text);
}
