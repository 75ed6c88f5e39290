// infra/ checked without a cluster, a Docker daemon or HAProxy: the Kubernetes manifests parse and
// agree with each other and with the gateway's configuration; the Dockerfile, the systemd unit and
// the HAProxy example have what running mxhook safely needs.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { AdminServer } from '../../../gateway/admin/admin-server.ts';
import { loadConfig } from '../../../gateway/config/index.ts';
import { ConfigError } from '../../../gateway/errors.ts';
import { createMetrics } from '../../../gateway/metrics/index.ts';
import { GATEWAY_NODE_FLAGS } from '../../../gateway/node-flags.ts';
import { parsePrometheus } from '../../helpers/prometheus.ts';
import { newSecret } from '../../helpers/start-bridge.ts';

const ROOT = join(import.meta.dirname, '../../..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: manifests are navigated by path; the assertions check the shapes.
type Any = any;
const manifest = (name: string): Any => parseYaml(read(`infra/kubernetes/${name}.yaml`));

/**
 * Reads one YAML document strictly (duplicate keys, tabs as indentation, several documents and
 * warnings are errors), and only when YAML 1.1 and 1.2 read it alike. Kubernetes (go-yaml) and
 * Dependabot (Ruby's Psych) follow 1.1, where an unquoted `yes`, `0755` or `10:30` is a boolean,
 * an octal number or a sexagesimal one; what parses here means the same to them as to the tests.
 */
function parseYaml(source: string): unknown {
  const read = (version: '1.1' | '1.2'): unknown => {
    const document = parseDocument(source, { version, strict: true, uniqueKeys: true });
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem !== undefined) throw problem;
    return document.toJS();
  };
  const modern = read('1.2');
  const legacy = read('1.1');
  if (!isDeepStrictEqual(legacy, modern))
    throw new Error(
      `YAML 1.1 reads ${JSON.stringify(legacy)} where YAML 1.2 reads ${JSON.stringify(modern)}: quote the scalar`,
    );
  return modern;
}

/** The default MXHOOK_SHUTDOWN_GRACE, and the 2 s the gateway then gives cancelled sessions. */
const DEFAULT_GRACE_S = 30;
const ABORT_WAIT_S = 2;

describe('parseYaml (test helper)', () => {
  it('reads the constructs the manifests use', () => {
    const parsed = parseYaml(
      [
        '# comment',
        'a: 1',
        'b: "quoted # not a comment"',
        "c: 'it''s'",
        'd:',
        '  - name: x',
        '    value: "2"',
        '  - plain text # comment',
        'e: ["sleep", "10"]',
        'f:',
        '- at the key indentation',
        'g: 250m',
        'h:',
      ].join('\n'),
    );
    expect(parsed).toEqual({
      a: 1,
      b: 'quoted # not a comment',
      c: "it's",
      d: [{ name: 'x', value: '2' }, 'plain text'],
      e: ['sleep', '10'],
      f: ['at the key indentation'],
      g: '250m',
      h: null,
    });
  });

  it('refuses what is malformed, or read differently by YAML 1.1, rather than guessing', () => {
    for (const [source, why] of [
      ['a: *x', /Unresolved alias/],
      ['a: 1\n---\nb: 2', /multiple documents/],
      ['a: 1\na: 2', /keys must be unique/],
      ['a:\n\tb: 1', /Tabs are not allowed/],
      ['a: yes', /YAML 1.1 reads {"a":true}/],
      ['a: 0755', /YAML 1.1 reads {"a":493}/],
      ['a: 10:30', /YAML 1.1 reads {"a":630}/],
      ['a: "open', /Missing closing "quote/],
      ['a: 1\n   b: 2', /not allowed in compact mappings/],
    ] as const)
      expect(() => parseYaml(source), source).toThrow(why);
  });
});

describe('infra/kubernetes', () => {
  const deployment = manifest('deployment');
  const service = manifest('service');
  const budget = manifest('pod-disruption-budget');
  const secret = manifest('secret.example');
  const tlsSecret = manifest('tls-secret.example');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const env: Record<string, string> = Object.fromEntries(
    container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
  );
  const portNamed = (name: string): number =>
    container.ports.find((p: { name: string }) => p.name === name).containerPort;

  it('are the expected kinds', () => {
    expect(
      [deployment, service, budget, secret, tlsSecret].map((m) => [m.apiVersion, m.kind]),
    ).toEqual([
      ['apps/v1', 'Deployment'],
      ['v1', 'Service'],
      ['policy/v1', 'PodDisruptionBudget'],
      ['v1', 'Secret'],
      ['v1', 'Secret'],
    ]);
  });

  it('give the gateway settings its configuration accepts', () => {
    // Everything the Deployment sets, plus the Secret's key, minus the certificate files (not here).
    const { MXHOOK_TLS_CERT: _cert, MXHOOK_TLS_KEY: _key, ...rest } = env;
    const config = loadConfig({ env: { ...rest, MXHOOK_SIGNING_SECRET: newSecret() } });
    expect(config.listen).toHaveLength(1);
    expect(config.listen[0]).toMatchObject({
      host: '0.0.0.0',
      port: portNamed('smtp'),
      implicitTls: false,
    });
    expect(config.httpListen).toEqual({ host: '0.0.0.0', port: portNamed('admin') });
    expect(config.trustedProxies.contains('10.0.3.4')).toBe(true); // an NLB address in the VPC
    expect(config.trustedProxies.contains('203.0.113.9')).toBe(false); // a client on the internet
    expect(env['MXHOOK_TLS_CERT']!.startsWith(`${container.volumeMounts[0].mountPath}/`)).toBe(
      true,
    );
    // The bytes held for messages stay well under the memory limit (512Mi).
    expect(container.resources.limits.memory).toBe('512Mi');
    expect(config.maxBytesInFlight).toBeLessThanOrEqual(256 * 1024 * 1024);
  });

  it('probe readiness on /readyz and liveness on /healthz, on the admin port', () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(portNamed('admin')).toBe(9025);
  });

  it('give a terminating pod longer than its drain: preStop, the shutdown grace and the abort', () => {
    const grace = Number(env['MXHOOK_SHUTDOWN_GRACE'] ?? DEFAULT_GRACE_S);
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      Number(preStop[1]) + grace + ABORT_WAIT_S,
    );
  });

  it('run as non-root with a read-only root file system and no capabilities', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod.securityContext.runAsUser).not.toBe(0);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    // No capability, so an unprivileged port inside; the Service maps 25 to it.
    expect(portNamed('smtp')).toBeGreaterThan(1023);
    expect(container.resources.requests).toBeDefined();
  });

  it('expose port 25 through a LoadBalancer with PROXY protocol and local traffic only', () => {
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.externalTrafficPolicy).toBe('Local');
    expect(
      service.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-proxy-protocol'],
    ).toBe('*');
    expect(service.spec.ports).toEqual([
      { name: 'smtp', port: 25, targetPort: 'smtp', protocol: 'TCP' },
    ]);
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
  });

  it('let one gateway at a time be disrupted', () => {
    expect(budget.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(budget.spec.maxUnavailable).toBe(1);
    expect(deployment.spec.replicas).toBeGreaterThan(budget.spec.maxUnavailable);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
  });

  it('take secrets from the example Secrets, whose placeholders cannot start a gateway', () => {
    expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
    expect(pod.volumes.find((v: { name: string }) => v.name === 'tls').secret.secretName).toBe(
      tlsSecret.metadata.name,
    );
    expect(tlsSecret.type).toBe('kubernetes.io/tls');
    for (const name of Object.keys(secret.stringData)) expect(name).toMatch(/^MXHOOK_/);
    const { MXHOOK_TLS_CERT: _cert, MXHOOK_TLS_KEY: _key, ...rest } = env;
    let error: unknown;
    try {
      loadConfig({ env: { ...rest, ...secret.stringData } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/MXHOOK_SIGNING_SECRET/);
  });
});

describe('infra/kubernetes/statefulset.yaml (gateways with an embedded queue)', () => {
  const statefulSet = manifest('statefulset');
  const headless = manifest('statefulset-service');
  const deployment = manifest('deployment');
  const service = manifest('service');
  const budget = manifest('pod-disruption-budget');
  const pod = statefulSet.spec.template.spec;
  const container = pod.containers[0];
  const env: Record<string, string> = Object.fromEntries(
    container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
  );
  const claim = statefulSet.spec.volumeClaimTemplates[0];
  const mountOf = (volume: string): { mountPath: string } =>
    container.volumeMounts.find((m: { name: string }) => m.name === volume);

  it('are a StatefulSet and the headless Service that governs it', () => {
    expect([statefulSet, headless].map((m) => [m.apiVersion, m.kind])).toEqual([
      ['apps/v1', 'StatefulSet'],
      ['v1', 'Service'],
    ]);
    expect(statefulSet.spec.serviceName).toBe(headless.metadata.name);
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.selector).toEqual(statefulSet.spec.template.metadata.labels);
    expect(statefulSet.spec.selector.matchLabels).toEqual(
      statefulSet.spec.template.metadata.labels,
    );
  });

  it('replace the Deployment behind the same Service and disruption budget', () => {
    expect(statefulSet.spec.template.metadata.labels).toEqual(
      deployment.spec.template.metadata.labels,
    );
    expect(service.spec.selector).toEqual(statefulSet.spec.template.metadata.labels);
    expect(budget.spec.selector.matchLabels).toEqual(statefulSet.spec.selector.matchLabels);
    expect(statefulSet.spec.replicas).toBeGreaterThan(budget.spec.maxUnavailable);
  });

  it('give each pod its own persistent volume for the queue directory, kept when scaled down', () => {
    expect(statefulSet.spec.volumeClaimTemplates).toHaveLength(1);
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim.spec.resources.requests.storage).toMatch(/^\d+Gi$/);
    // A claim template's volume, not a pod volume: no emptyDir or shared volume by that name.
    expect(pod.volumes.map((v: { name: string }) => v.name)).not.toContain(claim.metadata.name);
    const mount = mountOf(claim.metadata.name);
    expect(mount.mountPath).toBe('/var/lib/mxhook');
    expect(env['MXHOOK_QUEUE']).toBe('/var/lib/mxhook/queue');
    expect(env['MXHOOK_QUEUE']!.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(statefulSet.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    // The non-root user can write the volume.
    expect(pod.securityContext.fsGroup).toBe(pod.securityContext.runAsGroup);
  });

  it('give the gateway settings its configuration accepts, the queue a directory', () => {
    const { MXHOOK_TLS_CERT: _cert, MXHOOK_TLS_KEY: _key, ...rest } = env;
    const config = loadConfig({ env: { ...rest, MXHOOK_SIGNING_SECRET: newSecret() } });
    expect(config.queue).toEqual({ kind: 'directory', path: '/var/lib/mxhook/queue' });
    expect(config.shutdownGraceMs).toBe(Number(env['MXHOOK_SHUTDOWN_GRACE']) * 1000);
  });

  it('give a terminating pod longer than its drain: preStop, the sessions, then the deliveries', () => {
    const grace = Number(env['MXHOOK_SHUTDOWN_GRACE'] ?? DEFAULT_GRACE_S);
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      Number(preStop[1]) + grace + ABORT_WAIT_S + grace,
    );
  });

  it('run the container as the Deployment does: image, ports, probes, limits, security', () => {
    const reference = deployment.spec.template.spec;
    const { env: _env, volumeMounts: _mounts, ...rest } = container;
    const { env: _env2, volumeMounts: _mounts2, ...expected } = reference.containers[0];
    expect(rest).toEqual(expected);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    const { fsGroupChangePolicy: _policy, ...security } = pod.securityContext;
    expect(security).toEqual(reference.securityContext);
    expect(pod.volumes).toEqual(reference.volumes);
    // Every setting the Deployment makes is made here too, with the same value but the queue's.
    const { MXHOOK_QUEUE: _queue, ...sent } = env;
    expect(sent).toEqual(
      Object.fromEntries(
        reference.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
      ),
    );
  });
});

describe('infra/Dockerfile', () => {
  const dockerfile = read('infra/Dockerfile');
  // Instructions, with line continuations joined and comments dropped.
  const instructions = dockerfile
    .replace(/\\\n/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    .map((line) => line.trim());
  const all = (keyword: string) => instructions.filter((i) => i.startsWith(`${keyword} `));
  const one = (keyword: string): string => {
    const found = all(keyword);
    expect(found, keyword).toHaveLength(1);
    return found[0]!.slice(keyword.length + 1);
  };

  it('builds in two stages from the same pinned Node 24 image, installing production dependencies only', () => {
    const images = all('FROM').map((i) => i.split(/\s+/)[1]);
    expect(images).toHaveLength(2);
    expect(images[1]).toBe(images[0]);
    // A full release and a Debian release (a digest may follow): never a floating `node:24-slim`.
    expect(images[0]).toMatch(/^node:24\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    expect(one('RUN')).toMatch(/^npm ci --omit=dev\b/);
  });

  it('pins a Node release the gateway supports', () => {
    const [major, minor] = /^node:(\d+)\.(\d+)\./
      .exec(all('FROM')[0]!.split(/\s+/)[1]!)!
      .slice(1)
      .map(Number);
    const { engines } = JSON.parse(read('package.json')) as { engines: { node: string } };
    const [needMajor, needMinor] = /^>=(\d+)\.(\d+)$/.exec(engines.node)!.slice(1).map(Number);
    expect(major! > needMajor! || (major === needMajor && minor! >= needMinor!)).toBe(true);
  });

  it('copies only what the gateway needs, never the whole build context', () => {
    const sources = all('COPY')
      .filter((i) => !i.includes('--from='))
      .flatMap((i) => i.replace(/--\S+/g, '').trim().split(/\s+/).slice(1, -1));
    expect(sources).not.toContain('.');
    for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    expect(sources).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'gateway', 'functions/sdk']),
    );
  });

  it('holds every module `mxhook serve` loads, and needs no development dependency', () => {
    const copied = all('COPY')
      .filter((i) => !i.includes('--from='))
      .flatMap((i) => i.replace(/--\S+/g, '').trim().split(/\s+/).slice(1, -1));
    const { dependencies } = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
    };
    const { files, packages } = runtimeImports('gateway/cli.ts');
    expect(files).toContain('gateway/metrics/create-metrics.ts');
    expect([...packages]).toEqual(expect.arrayContaining(['pino', 'prom-client', 'undici']));
    for (const file of files)
      expect(
        copied.some((source) => file === source || file.startsWith(`${source}/`)),
        file,
      ).toBe(true);
    for (const name of packages) expect(Object.keys(dependencies), name).toContain(name);
  });

  it('runs as a non-root user, exposes the SMTP and admin ports, stops with SIGTERM', () => {
    expect(one('USER')).toBe('node');
    expect(one('EXPOSE').split(/\s+/)).toEqual(['25', '587', '465', '9025']);
    expect(one('STOPSIGNAL')).toBe('SIGTERM');
    expect(JSON.parse(one('CMD'))).toEqual([
      'node',
      ...GATEWAY_NODE_FLAGS,
      'gateway/cli.ts',
      'serve',
    ]);
  });

  const healthcheck = (): string[] => {
    const command = /CMD (\[.*\])$/.exec(one('HEALTHCHECK'))?.[1];
    return JSON.parse(command!) as string[];
  };

  /** Runs the image's health check command here, against the given admin address. */
  function runHealthcheck(httpListen: string): Promise<number | null> {
    const [binary, ...args] = healthcheck();
    expect(binary).toBe('node');
    return new Promise((resolve) => {
      const child = spawn(process.execPath, args, {
        env: { MXHOOK_HTTP_LISTEN: httpListen },
        stdio: 'ignore',
      });
      child.on('exit', (code) => resolve(code));
    });
  }

  // Starts two Node processes, so it gets more than the unit layer's 5 s on a loaded machine.
  it('has a health check that passes while /healthz answers and fails when nothing does', {
    timeout: 30_000,
  }, async () => {
    const admin = new AdminServer({
      host: '127.0.0.1',
      port: 0,
      isReady: () => true,
      jwks: { keys: [] },
    });
    const { port } = (await admin.start()) as AddressInfo;
    try {
      expect(await runHealthcheck(`0.0.0.0:${port}`)).toBe(0);
    } finally {
      await admin.stop();
    }
    expect(await runHealthcheck(`0.0.0.0:${port}`)).toBe(1);
  });
});

describe('infra/README.md', () => {
  it('documents every metric family and label value the gateway exports', async () => {
    const readme = read('infra/README.md');
    const metrics = createMetrics({ processMetrics: false });
    const exposition = parsePrometheus(await metrics.render());
    for (const name of exposition.families.keys()) expect(readme, name).toContain(`\`${name}\``);
    for (const sample of exposition.samples) {
      // Build info's values are versions, which change; its label names are what to document.
      const documented =
        sample.name === 'mxhook_build_info'
          ? Object.keys(sample.labels).map((name) => `\`${name}\``)
          : Object.values(sample.labels);
      for (const text of documented) expect(readme, text).toContain(text);
    }
  });
});

describe('infra/README.md alert rules', () => {
  const blocks = [...read('infra/README.md').matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((match) => match[1]!)
    .filter((block) => block.startsWith('groups:'));

  it('parse as Prometheus rule groups, and name only metrics and label values mxhook exports', async () => {
    expect(blocks).toHaveLength(1);
    const rules = (parseYaml(blocks[0]!) as Any).groups.flatMap((group: Any) => group.rules);
    expect(rules.length).toBeGreaterThan(3);
    const metrics = createMetrics({ processMetrics: false });
    metrics.observer.queueAttached?.({ stats: async () => ({ pending: 0, oldestAgeMs: null }) });
    const exposition = parsePrometheus(await metrics.render());
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Mxhook[A-Za-z]+$/);
      expect(typeof rule.expr).toBe('string');
      const names = [...(rule.expr as string).matchAll(/\b(mxhook_[a-z_]+)(?:\{([^}]*)\})?/g)];
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const [, name, matchers] of names) {
        expect(exposition.families.has(name!), `${rule.alert}: ${name}`).toBe(true);
        for (const [, label, value] of (matchers ?? '').matchAll(/(\w+)="([^"]*)"/g))
          expect(
            exposition.select(name!).some((sample) => sample.labels[label!] === value),
            `${rule.alert}: ${name}{${label}="${value}"}`,
          ).toBe(true);
      }
    }
  });
});

describe('infra/systemd/mxhook.service', () => {
  const unit = new Map<string, string[]>();
  for (const line of read('infra/systemd/mxhook.service').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) unit.set(match[1]!, [...(unit.get(match[1]!) ?? []), match[2]!]);
  }
  const value = (key: string) => unit.get(key)?.join(' ');

  it('is hardened as the issue asks', () => {
    expect({
      User: value('User'),
      AmbientCapabilities: value('AmbientCapabilities'),
      CapabilityBoundingSet: value('CapabilityBoundingSet'),
      NoNewPrivileges: value('NoNewPrivileges'),
      ProtectSystem: value('ProtectSystem'),
      ProtectHome: value('ProtectHome'),
      PrivateTmp: value('PrivateTmp'),
      PrivateDevices: value('PrivateDevices'),
      ProtectKernelTunables: value('ProtectKernelTunables'),
      ProtectKernelModules: value('ProtectKernelModules'),
      ProtectKernelLogs: value('ProtectKernelLogs'),
      ProtectControlGroups: value('ProtectControlGroups'),
      RestrictAddressFamilies: value('RestrictAddressFamilies'),
      RestrictNamespaces: value('RestrictNamespaces'),
      LockPersonality: value('LockPersonality'),
      MemoryDenyWriteExecute: value('MemoryDenyWriteExecute'),
      SystemCallFilter: value('SystemCallFilter'),
    }).toEqual({
      User: 'mxhook',
      AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
      CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectKernelLogs: 'yes',
      ProtectControlGroups: 'yes',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      RestrictNamespaces: 'yes',
      LockPersonality: 'yes',
      // V8's JIT needs writable-then-executable memory.
      MemoryDenyWriteExecute: 'no',
      SystemCallFilter: '@system-service',
    });
  });

  it('reads its settings from /etc/mxhook, reloads with SIGHUP, restarts on failure', () => {
    expect(value('EnvironmentFile')).toBe('/etc/mxhook/mxhook.env');
    expect(value('ExecStart')).toBe(
      ['/usr/bin/node', ...GATEWAY_NODE_FLAGS, '/opt/mxhook/gateway/cli.ts', 'serve'].join(' '),
    );
    expect(value('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(value('Restart')).toBe('on-failure');
  });

  it('waits longer for a stop than the gateway takes to drain', () => {
    expect(value('KillSignal')).toBe('SIGTERM');
    expect(Number(value('TimeoutStopSec'))).toBeGreaterThan(DEFAULT_GRACE_S + ABORT_WAIT_S);
  });
});

describe('infra/haproxy/haproxy.cfg', () => {
  const sections = new Map<string, string[]>();
  let current = '';
  for (const raw of read('infra/haproxy/haproxy.cfg').split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      current = line.trim();
      sections.set(current, []);
    } else sections.get(current)!.push(line.trim());
  }
  const backends = [...sections].filter(([name]) => name.startsWith('backend '));
  const seconds = (text: string): number => {
    const match = /^(\d+)(ms|s|m|h)?$/.exec(text)!;
    return Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] ?? 'ms']!;
  };

  it('passes TCP through, with timeouts longer than the gateway’s own', () => {
    const defaults = sections.get('defaults')!;
    expect(defaults).toContain('mode tcp');
    const timeout = (name: string) =>
      seconds(defaults.find((l) => l.startsWith(`timeout ${name} `))!.split(/\s+/)[2]!);
    // MXHOOK_DATA_TIMEOUT defaults to 600 s, MXHOOK_IDLE_TIMEOUT to 300 s.
    expect(timeout('client')).toBeGreaterThan(600);
    expect(timeout('server')).toBeGreaterThan(600);
    expect(timeout('connect')).toBeLessThanOrEqual(10);
  });

  it('sends PROXY protocol v2 to every gateway and checks /readyz on the admin port', () => {
    expect(backends.length).toBeGreaterThan(0);
    for (const [name, lines] of backends) {
      const defaults = lines.find((l) => l.startsWith('default-server ')) ?? '';
      const servers = lines.filter((l) => l.startsWith('server '));
      expect(servers.length, name).toBeGreaterThan(0);
      for (const server of servers) {
        const options = `${defaults} ${server}`.split(/\s+/);
        expect(options, server).toContain('send-proxy-v2');
        expect(options, server).toContain('check');
        expect(options.slice(options.indexOf('port'))[1], server).toBe('9025');
        expect(options, server).not.toContain('check-send-proxy');
      }
      expect(lines, name).toContain('option httpchk');
      expect(lines, name).toContain('http-check send meth GET uri /readyz');
      expect(lines.join('\n'), name).not.toMatch(/shutdown-sessions/);
    }
    for (const [name, lines] of sections)
      if (name.startsWith('frontend '))
        expect(lines.some((l) => l.startsWith('bind :'))).toBe(true);
  });

  it('sends one gateway no more sessions than its MXHOOK_MAX_CONNECTIONS, queueing the rest', () => {
    const perGateway = new Map<string, number>();
    for (const [, lines] of backends) {
      const defaults = (lines.find((l) => l.startsWith('default-server ')) ?? '').split(/\s+/);
      for (const server of lines.filter((l) => l.startsWith('server '))) {
        const options = [...defaults, ...server.split(/\s+/)];
        const maxconn = Number(options[options.lastIndexOf('maxconn') + 1]);
        const host = server.split(/\s+/)[2]!.replace(/:\d+$/, '');
        perGateway.set(host, (perGateway.get(host) ?? 0) + maxconn);
      }
    }
    expect(perGateway.size).toBeGreaterThan(1);
    for (const [host, total] of perGateway) expect(total, host).toBe(1000);
  });
});

/**
 * The files and packages a module loads at run time, following relative imports; `import type`
 * is erased by Node's type stripping, so it loads nothing.
 */
function runtimeImports(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const IMPORT =
    /^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const match of read(file).matchAll(IMPORT)) {
      if (match[1] !== undefined) continue;
      const specifier = (match[2] ?? match[3] ?? match[4])!;
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier));
      else if (!specifier.startsWith('node:'))
        packages.add(
          specifier
            .split('/')
            .slice(0, specifier.startsWith('@') ? 2 : 1)
            .join('/'),
        );
    }
  };
  visit(entry);
  return { files, packages };
}

describe('dependencies', () => {
  const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };

  it('pins html-to-text to the exact version mailparser depends on (one copy, bounded by the gateway)', () => {
    const mailparser = JSON.parse(read('node_modules/mailparser/package.json')) as {
      version: string;
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies['mailparser']).toBe(mailparser.version);
    expect(pkg.dependencies['html-to-text']).toBe(mailparser.dependencies['html-to-text']);
  });

  it('are kept current by Dependabot: npm weekly in groups, and the Dockerfile base image', () => {
    const config = parseYaml(read('.github/dependabot.yml')) as Any;
    const updates = config.updates as Any[];
    const npm = updates.find((update) => update['package-ecosystem'] === 'npm');
    expect(npm).toMatchObject({ directory: '/', schedule: { interval: 'weekly' } });
    expect(Object.keys(npm!.groups as object).sort()).toEqual(['development', 'runtime']);
    const ignored = (npm!.ignore as Any[]).map((rule) => rule['dependency-name']);
    expect(ignored).toContain('html-to-text');
    const docker = updates.find((update) => update['package-ecosystem'] === 'docker');
    expect(docker).toMatchObject({ directory: '/infra', schedule: { interval: 'weekly' } });
    expect(existsSync(join(ROOT, docker!.directory as string, 'Dockerfile'))).toBe(true);
  });
});
