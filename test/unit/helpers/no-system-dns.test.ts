// Keeps test traffic on loopback: mail authentication is on by default and asks the system's DNS,
// so every test source that starts a gateway itself says how it runs the checks — off
// (`authChecks: []`, `MXHOOK_AUTH_CHECKS: 'none'`) or against a loopback DNS server (`dnsServers`,
// `MXHOOK_DNS_SERVERS`). Files that start one through a helper (startGateway, startBridge,
// GatewayProcess, …) inherit the helper's setting. One mention per file is enough, so this catches
// a new starter that forgot, not a second call in a file that already has one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, ROOT, sourceFiles, withoutComments } from '../../helpers/source-text.ts';

/** Code lines, without comments and without lines that are string literals (generated sources). */
function codeLines(text: string): string[] {
  return withoutComments(text)
    .split('\n')
    .filter((line) => !/^\s*['"`]/.test(line));
}

const CREATE = /\bcreateGateway\s*\(/;
/** serve(config, …) in-process (imported from gateway/serve.ts); not `serve()` in a test's name. */
const SERVE = /\bserve\s*\(\s*[\w{]/;
const SERVE_MODULE = /\/gateway\/serve(?:\.ts)?$/;
/** A process started with a gateway environment assembled in the same file. */
const SPAWNS = /\b(?:spawn|fork|execFile)\s*\(/;
const ENVIRONMENT = /^\s*MXHOOK_(?:LISTEN|FUNCTION_URL)\s*:/m;
const SETTING = /\bauthChecks\b|\bdnsServers\b|\bMXHOOK_AUTH_CHECKS\b|\bMXHOOK_DNS_SERVERS\b/;

/** Whether the source starts a gateway itself: createGateway, serve(), or a spawned `mxhook`. */
function startsGateway(text: string): boolean {
  const lines = codeLines(text);
  if (lines.some((line) => CREATE.test(line))) return true;
  const servesGateway = importsOf(text).some((spec) => SERVE_MODULE.test(spec));
  if (servesGateway && lines.some((line) => SERVE.test(line))) return true;
  const code = lines.join('\n');
  return SPAWNS.test(code) && ENVIRONMENT.test(code);
}

/** What is wrong with a test source: a gateway started without saying how it runs the checks. */
function problem(text: string): string | null {
  if (!startsGateway(text)) return null;
  return SETTING.test(withoutComments(text))
    ? null
    : 'starts a gateway without authChecks / MXHOOK_AUTH_CHECKS (or a loopback DNS server)';
}

describe('tests keep mail authentication off the system DNS', () => {
  const files = sourceFiles('test').filter((name) => !name.endsWith('no-system-dns.test.ts'));
  const starters = files.filter((name) => startsGateway(readFileSync(join(ROOT, name), 'utf8')));

  it('finds the helpers and tests that start gateways', () => {
    for (const name of [
      'test/helpers/start-gateway.ts',
      'test/helpers/start-bridge.ts',
      'test/helpers/faults/gateway-process.ts',
      'test/integration/ops/ops-stack.ts',
      'test/integration/bridge/cli.test.ts',
      'test/e2e/helpers/gateway.ts',
      'test/e2e/npm-start.test.ts',
      'test/e2e/package.test.ts',
      'test/bench/target.ts',
    ]) {
      expect(starters).toContain(name);
    }
  });

  it.each(starters)('%s says how the gateway runs mail authentication', (name) => {
    expect(problem(readFileSync(join(ROOT, name), 'utf8'))).toBeNull();
  });

  it('the scanner catches each kind of starter and accepts each setting', () => {
    const library = "const g = createGateway({ listen, hostname: 'mx.test', handler });";
    const inProcess = [
      "import { serve } from '../../gateway/serve.ts';",
      'const running = await serve(config, { logger });',
    ].join('\n');
    const spawned = [
      'const env = {',
      "  MXHOOK_LISTEN: '127.0.0.1:0',",
      '  MXHOOK_FUNCTION_URL: url,',
      '};',
      "spawn(process.execPath, [CLI, 'serve'], { env });",
    ].join('\n');
    for (const source of [library, inProcess, spawned]) {
      expect(problem(source)).not.toBeNull();
    }
    expect(problem(`${library}\nconst options = { authChecks: [] };`)).toBeNull();
    expect(problem(`${inProcess}\nconst env = { MXHOOK_AUTH_CHECKS: 'none' };`)).toBeNull();
    expect(problem(`${spawned}\nconst more = { MXHOOK_DNS_SERVERS: dns.server };`)).toBeNull();
  });

  it('the scanner ignores comments, names in strings and helper users', () => {
    expect(problem('// createGateway(options) is the library entry')).toBeNull();
    expect(problem("describe('middleware given to serve()', () => {});")).toBeNull();
    const hono = "import { serve } from '@hono/node-server';\nconst server = serve({ fetch });";
    expect(problem(hono)).toBeNull();
    expect(
      problem("  'export const start = (o: GatewayOptions) => createGateway(o);',"),
    ).toBeNull();
    expect(
      problem("startBridge({ functionUrl, env: { MXHOOK_LISTEN: '127.0.0.1:0' } });"),
    ).toBeNull();
    expect(problem('// authChecks: []\nconst g = createGateway(options);')).not.toBeNull();
  });
});
