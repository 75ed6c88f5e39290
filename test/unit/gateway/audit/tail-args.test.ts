// `mxhook tail`'s flags and `?types=`, as parsed before anything is connected.
import { describe, expect, it } from 'vitest';
import { typesOf } from '../../../../gateway/audit/audit-routes.ts';
import { parseTailArgs } from '../../../../gateway/audit/tail-command.ts';

describe('parseTailArgs', () => {
  it('takes each flag as `--flag value` or `--flag=value`', () => {
    expect(
      parseTailArgs(['--types', 'session,queue', '--json', '--url=http://127.0.0.1:9']),
    ).toEqual({
      types: 'session,queue',
      json: true,
      url: 'http://127.0.0.1:9',
      token: null,
    });
    expect(parseTailArgs([])).toEqual({ types: null, json: false, url: null, token: null });
  });

  it('names an unknown flag, or a flag without its value', () => {
    expect(parseTailArgs(['--follow'])).toBe('unknown argument --follow');
    expect(parseTailArgs(['--token'])).toBe('--token needs a value');
    expect(parseTailArgs(['--url='])).toBe('--url needs a value');
  });
});

describe('typesOf', () => {
  it('is every type but the reply trace when none is named', () => {
    expect([...(typesOf(null) as Set<string>)]).toEqual([
      'session',
      'decision',
      'queue',
      'delivery',
    ]);
    expect([...(typesOf(' ') as Set<string>)]).toHaveLength(4);
  });

  it('takes a comma-separated list in any case', () => {
    expect([...(typesOf('Reply, session') as Set<string>)]).toEqual(['reply', 'session']);
  });

  it('refuses a type that does not exist, naming the ones that do', () => {
    expect(typesOf('session,body')).toBe(
      'unknown type "body"; the types are session, decision, queue, delivery, reply',
    );
  });
});
