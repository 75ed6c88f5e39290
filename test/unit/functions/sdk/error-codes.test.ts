// Keeps the one code union true: every ERR_ code the source uses is in MxhookErrorCode, and every
// code in it is thrown or reported as a failure somewhere (docs/architecture.md, "Errors").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, sourceFiles, withoutComments } from '../../../helpers/source-text.ts';

const UNION_FILE = 'functions/sdk/errors.ts';
const SCANNED = ['gateway', 'functions/sdk', 'functions/worker'];

/** ERR_ codes the source names that no MxhookError carries, and why each is there. */
const NOT_OURS: ReadonlyMap<string, string> = new Map([
  ['ERR_WORKER_OUT_OF_MEMORY', "Node's code for a worker thread that ran out of memory"],
  ['ERR_UNKNOWN', "errorForLog's label for a thrown non-Error, in a log field beside Node's codes"],
  [
    'ERR_TLS_CERT_ALTNAME_INVALID',
    "Node's code for a certificate not valid for the host name, which delivery reports as such",
  ],
  [
    'ERR_INVALID_ARG_VALUE',
    "node:dns's code for a record type it does not know, which DnsLookups answers as node:dns does",
  ],
]);

const LITERAL = /['"](ERR_[A-Z0-9_]+)['"]/g;
/** `new MxhookError('ERR_…'`, `new MxhookVerifyError<…>(\n 'ERR_…'`, `super('ERR_…'`. */
const CONSTRUCTED = /\b(?:new\s+\w*Error\s*(?:<[^>]*>)?|super)\s*\(\s*['"](ERR_[A-Z0-9_]+)['"]/g;
/**
 * A failure's code, set as a property or a variable, also as one branch of a conditional:
 * `code: x ? y : 'ERR_…'`, `const code = … 'ERR_…'`; not a comparison (`code === 'ERR_…'`).
 */
const FAILURE_CODE = /\bcode\s*(?::|=(?!=))\s*[^,;{}()]*?['"](ERR_[A-Z0-9_]+)['"]/g;

function matches(re: RegExp, source: string): string[] {
  return [...source.matchAll(re)].map((m) => m[1]!);
}

/** The string literals that make up `type name = …`, following aliases declared in `source`. */
function unionMembers(source: string, name: string): string[] {
  const aliases = new Map(
    [...source.matchAll(/\btype\s+(\w+)\s*=([^;]*);/g)].map((m) => [m[1]!, m[2]!]),
  );
  const body = aliases.get(name);
  if (body === undefined) throw new Error(`no type ${name} in ${UNION_FILE}`);
  const referenced = [...body.matchAll(/\b[A-Z]\w*\b/g)]
    .map((m) => m[0])
    .filter((word) => aliases.has(word));
  return [...matches(LITERAL, body), ...referenced.flatMap((ref) => unionMembers(source, ref))];
}

/** Each scanned file's comment-free text, by root-relative path. */
function scannedSources(): Map<string, string> {
  const files = SCANNED.flatMap(sourceFiles).filter((file) => file !== UNION_FILE);
  return new Map(
    files.map((file) => [file, withoutComments(readFileSync(join(ROOT, file), 'utf8'))]),
  );
}

describe('MxhookErrorCode, the one code union', () => {
  const members = unionMembers(
    withoutComments(readFileSync(join(ROOT, UNION_FILE), 'utf8')),
    'MxhookErrorCode',
  );
  const union = new Set(members);
  const sources = scannedSources();

  it('is read from the source and lists each code once', () => {
    expect(union).toContain('ERR_SIGNATURE_INVALID');
    expect(union).toContain('ERR_HOOK_TIMEOUT');
    expect(union).toContain('ERR_CONFIG_INVALID');
    expect(members).toHaveLength(union.size);
    expect([...sources.keys()]).toContain('gateway/server/run-hook.ts');
    expect([...sources.keys()]).toContain('functions/sdk/verify.ts');
  });

  it('has every ERR_ code the source throws, reports or matches on', () => {
    const outside = [...sources].flatMap(([file, source]) =>
      matches(LITERAL, source)
        .filter((code) => !union.has(code) && !NOT_OURS.has(code))
        .map((code) => `${file}: ${code}`),
    );
    expect(outside).toEqual([]);
  });

  it('has no code that nothing throws or reports as a failure', () => {
    const produced = new Set(
      [...sources.values()].flatMap((source) => [
        ...matches(CONSTRUCTED, source),
        ...matches(FAILURE_CODE, source),
      ]),
    );
    expect([...union].filter((code) => !produced.has(code))).toEqual([]);
  });

  it('leaves out only codes that the source still names', () => {
    const named = new Set([...sources.values()].flatMap((source) => matches(LITERAL, source)));
    for (const code of NOT_OURS.keys()) {
      expect(union).not.toContain(code);
      expect(named).toContain(code);
    }
  });

  it('the scanner finds codes in each form and ignores comments and lookalikes', () => {
    const source = withoutComments(`
      throw new MxhookError('ERR_A', 'x');
      return new MxhookVerifyError(
        'ERR_B',
        message,
      );
      const e = new MxhookError<'ERR_C'>('ERR_C', 'x');
      super('ERR_D', message);
      return { ok: false, error: { code: error instanceof MxhookError ? error.code : 'ERR_E' } };
      const code = error instanceof MxhookError ? error.code : 'ERR_F';
      if (error.code === 'ERR_G' || code !== 'ERR_H') throw error;
      // new MxhookError('ERR_COMMENTED', 'x')
      /** code: 'ERR_DOCUMENTED' */
      if (codeOf(error) === 'UND_ERR_SOCKET') retry();
    `);
    expect(matches(CONSTRUCTED, source)).toEqual(['ERR_A', 'ERR_B', 'ERR_C', 'ERR_D']);
    expect(matches(FAILURE_CODE, source)).toEqual(['ERR_E', 'ERR_F']);
    expect(matches(LITERAL, source)).toEqual([
      'ERR_A',
      'ERR_B',
      'ERR_C',
      'ERR_C',
      'ERR_D',
      'ERR_E',
      'ERR_F',
      'ERR_G',
      'ERR_H',
    ]);
  });

  it('the union reader follows the aliases it is made of', () => {
    const source = "type A = 'ERR_A' | 'ERR_B'; type Code = A | 'ERR_C';";
    expect(unionMembers(source, 'Code')).toEqual(['ERR_C', 'ERR_A', 'ERR_B']);
  });
});
