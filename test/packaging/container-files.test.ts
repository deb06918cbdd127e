// The container image's and the Helm chart's files, without an engine or a cluster
// (docs/container.md): the Dockerfile starts the stack as the installer's systemd unit does and
// installs the installer's packages; the chart renders to the Kubernetes objects it promises.
// helm itself is not packaged for Debian, so the chart's templates are rendered here by a small
// renderer that knows exactly the template constructs the chart uses and refuses any other.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as yaml from 'js-yaml';
import { CONFIG_KEYS } from '../../server/config.js';
import { freePort, tempDir } from '../helpers/stack.js';
import { ROOT, sh } from './helpers.js';

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const CHART = path.join(ROOT, 'helm', 'srs-stack');

/** Dockerfile instructions of the last stage (continuation lines joined, comments dropped). */
function finalStage(): Array<{ op: string; args: string }> {
  const lines = fs
    .readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));
  const all = lines.map((l) => {
    const m = /^(\w+)\s+(.*)$/.exec(l.trim());
    return { op: m?.[1]?.toUpperCase() ?? '', args: m?.[2] ?? '' };
  });
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  return all.slice(lastFrom);
}

const unitFile = () => fs.readFileSync(path.join(ROOT, 'installer', 'files', 'srs-stack.service'), 'utf8');
const unitValues = (key: string) => [...unitFile().matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] ?? '');

describe('container image files', () => {
  it("starts the stack as the installer's systemd unit does: same command, environment and folder", () => {
    const stage = finalStage();
    const one = (op: string) => stage.filter((i) => i.op === op).map((i) => i.args);
    assert.deepEqual(JSON.parse(one('CMD')[0] ?? '[]'), (unitValues('ExecStart')[0] ?? '').split(' '));
    assert.deepEqual(one('WORKDIR'), unitValues('WorkingDirectory'));
    const env = one('ENV').join(' ').split(/\s+/);
    for (const pair of unitValues('Environment')) assert.ok(env.includes(pair), `ENV has ${pair}`);
    assert.ok(env.includes('PLATFORM_DOCKER=on'), 'mgmt/envs says it runs in a container');
    assert.deepEqual(JSON.parse(one('ENTRYPOINT')[0] ?? '[]'), ['/usr/bin/tini', '--']);
    assert.deepEqual(one('VOLUME'), ['/data']);
  });

  it("installs the installer's system packages and libsrt, plus tini", async () => {
    const rules = (await import(pathToFileURL(path.join(ROOT, 'installer', 'lib', 'rules.mjs')).href)) as {
      SYSTEM_PACKAGES: string[];
      SRT_PACKAGES: string[];
    };
    const run = finalStage().find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))?.args ?? '';
    const packages = /--no-install-recommends\s+([^;]+);/.exec(run)?.[1]?.trim().split(/\s+/) ?? [];
    assert.deepEqual(packages.sort(), [...rules.SYSTEM_PACKAGES, rules.SRT_PACKAGES[0], 'tini'].sort());
  });

  it("exposes SRS Stack's ports: the stack's default listeners", () => {
    const expose =
      finalStage()
        .find((i) => i.op === 'EXPOSE')
        ?.args.split(/\s+/) ?? [];
    assert.deepEqual(expose.sort(), ['10080/udp', '1935/tcp', '2022/tcp', '2443/tcp', '8000/udp']);
    const defaults = Object.fromEntries(CONFIG_KEYS.map((k) => [k.key, k.def as string]));
    assert.deepEqual(
      ['MGMT_LISTEN', 'HTTPS_LISTEN', 'RTMP_LISTEN', 'RTC_LISTEN', 'SRT_LISTEN'].map((k) => defaults[k]),
      ['2022', '2443', '1935', '8000', '10080'],
    );
  });

  it('setup.sh --node-only prints the Node.js 20+ it would use and installs nothing', function () {
    if (process.getuid?.() !== 0) return this.skip();
    const res = sh('bash', [path.join(ROOT, 'installer', 'setup.sh'), '--node-only']);
    assert.equal(res.rc, 0, res.out);
    assert.equal(res.out.trim().split('\n').at(-1), sh('bash', ['-c', 'command -v node']).out.trim());
  });

  it("npm run release's image builder: the one SRS_STACK_CONTAINER_TOOL names when installed, else none", async () => {
    const release = (await import(pathToFileURL(path.join(ROOT, 'installer', 'release.mjs')).href)) as {
      containerTool(): Promise<string | null>;
    };
    const before = process.env.SRS_STACK_CONTAINER_TOOL;
    try {
      process.env.SRS_STACK_CONTAINER_TOOL = 'bash';
      assert.equal(await release.containerTool(), 'bash');
      process.env.SRS_STACK_CONTAINER_TOOL = 'no-such-container-tool';
      assert.equal(await release.containerTool(), null);
    } finally {
      if (before === undefined) delete process.env.SRS_STACK_CONTAINER_TOOL;
      else process.env.SRS_STACK_CONTAINER_TOOL = before;
    }
  });

  it('srs-stack health fails, saying why, when nothing answers', async () => {
    const dataDir = tempDir('srs-stack-health-');
    fs.mkdirSync(path.join(dataDir, 'config'));
    const port = await freePort();
    fs.writeFileSync(path.join(dataDir, 'config', '.env'), `MGMT_LISTEN=${port}\n`);
    const res = sh('node', [path.join(ROOT, 'dist', 'server', 'cli.js'), 'health'], { env: { ...process.env, DATA_DIR: dataDir } });
    fs.rmSync(dataDir, { recursive: true, force: true });
    assert.equal(res.rc, 1);
    assert.match(res.out, new RegExp(`^unhealthy: http://127\\.0\\.0\\.1:${port}/terraform/v1/mgmt/check: `));
  });
});

// ---- Helm chart ----

type Scope = { Values: unknown; Release: { Name: string }; Chart: Record<string, unknown> };

function lookup(scope: Scope, ref: string): unknown {
  if (!ref.startsWith('.')) throw new Error(`unsupported reference ${ref}`);
  let value: unknown = scope;
  for (const key of ref.slice(1).split('.')) {
    if (value === null || typeof value !== 'object' || !(key in value)) throw new Error(`${ref}: no such value`);
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * Renders a template with the constructs the chart uses, as helm does: `{{ .X.y }}`, `| quote`,
 * `toYaml … | nindent N`, `if … end` and `{{-` / `-}}` whitespace trimming. Anything else throws.
 */
export function renderTemplate(text: string, scope: Scope): string {
  const parts = text.split(/({{-?\s*[^}]*?\s*-?}})/);
  let out = '';
  const conditions: boolean[] = [];
  const active = () => conditions.every(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (i % 2 === 0) {
      if (active()) out += part;
      continue;
    }
    const m = /^{{(-?)\s*(.*?)\s*(-?)}}$/.exec(part);
    if (!m) throw new Error(`unsupported action ${part}`);
    const [, trimLeft, action = '', trimRight] = m;
    if (trimLeft && active()) out = out.replace(/\s+$/, '');
    if (trimRight) parts[i + 1] = (parts[i + 1] ?? '').replace(/^\s+/, '');
    let mm: RegExpExecArray | null;
    if ((mm = /^if (\.\S+)$/.exec(action))) {
      conditions.push(Boolean(lookup(scope, mm[1] ?? '')));
    } else if (action === 'end') {
      if (!conditions.length) throw new Error('end without if');
      conditions.pop();
    } else if (!active()) {
      continue;
    } else if ((mm = /^toYaml (\.\S+) \| nindent (\d+)$/.exec(action))) {
      const pad = ' '.repeat(Number(mm[2]));
      const dumped = yaml.dump(lookup(scope, mm[1] ?? '')).trimEnd();
      out += `\n${dumped
        .split('\n')
        .map((l) => pad + l)
        .join('\n')}`;
    } else if ((mm = /^(\.\S+) \| quote$/.exec(action))) {
      out += JSON.stringify(String(lookup(scope, mm[1] ?? '')));
    } else if ((mm = /^(\.\S+)$/.exec(action))) {
      const value = lookup(scope, mm[1] ?? '');
      if (value !== null && typeof value === 'object') throw new Error(`${action} is not a scalar`);
      out += String(value);
    } else {
      throw new Error(`unsupported template action {{ ${action} }}`);
    }
  }
  if (conditions.length) throw new Error('if without end');
  return out;
}

function mergeValues(base: unknown, over: unknown): unknown {
  if (!over || typeof over !== 'object' || Array.isArray(over) || !base || typeof base !== 'object') return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = mergeValues(out[k], v);
  return out;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** `helm template test helm/srs-stack [--set …]`: every template rendered and parsed as YAML. */
function renderChart(overrides: unknown = {}): K8sObject[] {
  const values = mergeValues(yaml.load(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')), overrides);
  const chart = yaml.load(fs.readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const scope: Scope = { Values: values, Release: { Name: 'test' }, Chart: chart };
  const dir = path.join(CHART, 'templates');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => yaml.loadAll(renderTemplate(fs.readFileSync(path.join(dir, f), 'utf8'), scope)) as K8sObject[])
    .filter(Boolean);
}

interface Container {
  image: string;
  env: Array<{ name: string; value: string }>;
  ports: Array<{ name: string; containerPort: number; protocol: string }>;
  resources: unknown;
  volumeMounts: Array<{ name: string; mountPath: string }>;
  readinessProbe: { exec: { command: string[] } };
}

function statefulSet(objects: K8sObject[]) {
  const sts = objects.find((o) => o.kind === 'StatefulSet');
  assert.ok(sts);
  const spec = sts.spec as {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; terminationGracePeriodSeconds: number } };
    volumeClaimTemplates: Array<{
      metadata: { name: string };
      spec: { storageClassName?: string; resources: { requests: { storage: string } } };
    }>;
  };
  const [container] = spec.template.spec.containers;
  assert.ok(container);
  return { sts, spec, container, claim: spec.volumeClaimTemplates[0] };
}

describe('Helm chart (helm/srs-stack)', () => {
  it('is versioned with the app and names its image', () => {
    const chart = yaml.load(fs.readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, string>;
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.appVersion, VERSION);
    assert.equal(statefulSet(renderChart()).container.image, `srs-stack:v${VERSION}`);
  });

  it('renders one StatefulSet with /data on a volume claim and the two Services of the TCP and UDP ports', () => {
    const objects = renderChart();
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'Service/test-tcp',
      'Service/test-udp',
      'StatefulSet/test',
    ]);
    const { spec, container, claim } = statefulSet(objects);
    assert.equal(spec.replicas, 1);
    assert.deepEqual(spec.selector.matchLabels, spec.template.metadata.labels);
    assert.ok(claim);
    assert.deepEqual(container.volumeMounts, [{ name: claim.metadata.name, mountPath: '/data' }]);
    assert.equal(claim.spec.resources.requests.storage, '20Gi');
    assert.equal(claim.spec.storageClassName, undefined, 'the default storage class unless one is named');
    assert.deepEqual(container.readinessProbe.exec.command, ['/usr/local/srs-stack/bin/srs-stack', 'health']);
    // The pod's ports are the image's EXPOSE.
    assert.deepEqual(container.ports.map((p) => `${p.containerPort}/${p.protocol.toLowerCase()}`).sort(), [
      '10080/udp',
      '1935/tcp',
      '2022/tcp',
      '2443/tcp',
      '8000/udp',
    ]);
    const byName = new Map(container.ports.map((p) => [p.name, p]));
    for (const svc of objects.filter((o) => o.kind === 'Service')) {
      const s = svc.spec as { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string; protocol: string }> };
      assert.deepEqual(s.selector, spec.template.metadata.labels, 'the Service selects the pod');
      const protocol = svc.metadata.name.endsWith('-udp') ? 'UDP' : 'TCP';
      for (const port of s.ports) {
        assert.equal(port.protocol, protocol);
        assert.equal(byName.get(port.targetPort)?.protocol, protocol, `${svc.metadata.name} → ${port.targetPort}`);
      }
    }
  });

  it('takes ports, resources and the storage class from values; the console shows the public ports', () => {
    const resources = { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '4', memory: '4Gi' } };
    const objects = renderChart({
      ports: { http: 80, https: 443, rtmp: 1936, rtc: 8001, srt: 10081 },
      resources,
      persistence: { storageClassName: 'fast-ssd', size: '100Gi' },
      service: { type: 'NodePort' },
    });
    const { container, claim } = statefulSet(objects);
    assert.deepEqual(container.resources, resources);
    assert.equal(claim?.spec.storageClassName, 'fast-ssd');
    assert.equal(claim?.spec.resources.requests.storage, '100Gi');
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    assert.deepEqual([env.HTTP_PORT, env.RTMP_PORT, env.SRT_PORT, env.RTC_PORT], ['80', '1936', '10081', '8001']);
    const ports = objects
      .filter((o) => o.kind === 'Service')
      .flatMap((o) =>
        (o.spec as { type: string; ports: Array<{ name: string; port: number }> }).ports.map((p) => `${o.spec.type} ${p.name}:${p.port}`),
      );
    assert.deepEqual(ports.sort(), [
      'NodePort http:80',
      'NodePort https:443',
      'NodePort rtc:8001',
      'NodePort rtmp:1936',
      'NodePort srt:10081',
    ]);
  });

  it('the renderer refuses a template construct it does not know (it cannot pass a chart it misreads)', () => {
    const scope: Scope = { Values: { a: 1 }, Release: { Name: 'x' }, Chart: {} };
    assert.throws(() => renderTemplate('{{ include "x" . }}', scope), /unsupported template action/);
    assert.throws(() => renderTemplate('{{ .Values.missing }}', scope), /no such value/);
    assert.equal(renderTemplate('a:\n  {{- if .Values.a }}\n  b: {{ .Values.a | quote }}\n  {{- end }}\n', scope), 'a:\n  b: "1"\n');
  });
});
