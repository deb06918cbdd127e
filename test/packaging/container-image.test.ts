// HEAVY, opt-in (SRS_STACK_HEAVY_TESTS=1): the container image (Dockerfile) built and run for real
// with Debian's podman, the same OCI engine work docker does (docs/container.md). No registry is
// reachable, so the base is the packaging tests' cached bookworm rootfs imported into podman and
// made like debian:bookworm-slim (dpkg's path excludes; the host's CAs for the npm registry), and
// the build runs with --pull=never and the shared apt archive cache mounted. Everything the test
// creates (containers, images, folders) is removed afterwards.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ffprobe, publish, type Publisher } from '../helpers/media.js';
import { ADMIN_PASSWORD, apiClient, consoleSession, freePort, freeUdpPort, isAlive, tempDir, waitFor } from '../helpers/stack.js';
import { PACKAGING_DIR, ROOT, buildReleaseInto, sh } from './helpers.js';

const HEAVY = process.env.SRS_STACK_HEAVY_TESTS === '1';
const CACHE = '/var/cache/srs-stack-test';
const ROOTFS_TAR = path.join(CACHE, 'bookworm-rootfs.tar');
const APT_CACHE = path.join(CACHE, 'apt-archives');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const RUN = `${process.pid}`;
const ROOTFS_IMAGE = `localhost/srs-stack-test-rootfs:${RUN}`;
const BASE_IMAGE = `localhost/srs-stack-test-base:${RUN}`;
const IMAGE = `localhost/srs-stack-test:${RUN}`;
const STOP_GRACE_S = 30;

/** The container's own ports (EXPOSE) and SRS Stack's run line's host side for each. */
const CONTAINER_PORTS = { http: 2022, https: 2443, rtmp: 1935, rtc: 8000, srt: 10080 } as const;
type Ports = Record<keyof typeof CONTAINER_PORTS, number>;

function podman(args: string[], input?: string): string {
  const res = sh('podman', args, { input });
  assert.equal(res.rc, 0, `podman ${args.join(' ')}:\n${res.out.slice(-3000)}`);
  return res.out.trim();
}

/**
 * podman's engine settings for these machines: runc and cgroupfs (no systemd cgroup manager here),
 * and default ulimits this process may grant. podman asks for nofile 1048576 and nproc 4194304,
 * which a process without CAP_SYS_RESOURCE cannot raise to, and the kernel here refuses an nproc
 * above pid_max.
 */
function engineConf(): string {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const limit = (name: string) => {
    const m = new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(limits);
    return (m ? [m[1], m[2]] : ['unlimited', 'unlimited']).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  };
  const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const [nofileSoft, nofileHard] = limit('Max open files').map((v) => Math.min(v, 1048576));
  const nproc = Math.min(...limit('Max processes'), pidMax);
  return (
    `[containers]\ndefault_ulimits = ["nofile=${nofileSoft}:${nofileHard}", "nproc=${nproc}:${nproc}"]\n` +
    `[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n`
  );
}

/** debian:bookworm-slim's dpkg excludes (/etc/dpkg/dpkg.cfg.d/docker in the official image). */
const SLIM_DPKG_EXCLUDES = [
  '/usr/share/doc/*',
  '/usr/share/man/*',
  '/usr/share/groff/*',
  '/usr/share/info/*',
  '/usr/share/lintian/*',
  '/usr/share/linda/*',
  '/usr/share/locale/*',
]
  .map((p) => `path-exclude ${p}\n`)
  .join('')
  .concat('path-include /usr/share/doc/*/copyright\n');

/** The bookworm base: the cached rootfs imported, plus what a slim image and this network need. */
function makeBaseImage(work: string): void {
  podman(['import', ROOTFS_TAR, ROOTFS_IMAGE]);
  const ctx = path.join(work, 'base');
  fs.mkdirSync(path.join(ctx, 'ca'), { recursive: true });
  // The build fetches Node.js from the npm registry through the host's network, so it trusts what
  // the host trusts (a TLS-inspecting egress proxy's CA), as the rootfs tests do.
  const extraCas = '/usr/local/share/ca-certificates';
  if (fs.existsSync(extraCas)) fs.cpSync(extraCas, path.join(ctx, 'ca'), { recursive: true });
  fs.copyFileSync('/etc/ssl/certs/ca-certificates.crt', path.join(ctx, 'ca-certificates.crt'));
  fs.writeFileSync(path.join(ctx, 'slim'), SLIM_DPKG_EXCLUDES);
  fs.writeFileSync(
    path.join(ctx, 'Containerfile'),
    `FROM ${ROOTFS_IMAGE}\nCOPY ca/ /usr/local/share/ca-certificates/\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n` +
      'COPY slim /etc/dpkg/dpkg.cfg.d/docker\n',
  );
  podman(['build', '--pull=never', '--layers=false', '-q', '-t', BASE_IMAGE, ctx]);
}

function canBind(port: number, udp: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    if (udp) {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, () => socket.close(() => resolve(true)));
    } else {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, () => server.close(() => resolve(true)));
    }
  });
}

/** SRS Stack's run line's own host ports when this machine has them free, else free ones. */
async function runLinePorts(): Promise<Ports> {
  const free = await Promise.all(Object.entries(CONTAINER_PORTS).map(([name, port]) => canBind(port, name === 'rtc' || name === 'srt')));
  return free.every(Boolean) ? { ...CONTAINER_PORTS } : otherPorts();
}

async function otherPorts(): Promise<Ports> {
  return { http: await freePort(), https: await freePort(), rtmp: await freePort(), rtc: await freeUdpPort(), srt: await freeUdpPort() };
}

interface Instance {
  name: string;
  ports: Ports;
  dataDir: string;
  url: string;
  api: ReturnType<typeof apiClient>;
}

/**
 * `docker run -d -p H:2022 -p H:2443 -p H:1935 -p H:8000/udp -p H:10080/udp -v <dir>:/data <image>`,
 * with SRS Stack's display variables when the host ports are not the container's.
 */
function runInstance(name: string, ports: Ports, dataDir: string): Instance {
  const publish = Object.entries(CONTAINER_PORTS).flatMap(([key, inside]) => [
    '-p',
    `${ports[key as keyof Ports]}:${inside}${key === 'rtc' || key === 'srt' ? '/udp' : ''}`,
  ]);
  const display = (key: string, host: number, inside: number) => (host === inside ? [] : ['-e', `${key}=${host}`]);
  const env = [
    ...display('HTTP_PORT', ports.http, CONTAINER_PORTS.http),
    ...display('RTMP_PORT', ports.rtmp, CONTAINER_PORTS.rtmp),
    ...display('SRT_PORT', ports.srt, CONTAINER_PORTS.srt),
    ...display('RTC_PORT', ports.rtc, CONTAINER_PORTS.rtc),
  ];
  podman(['run', '-d', '--name', name, ...publish, ...env, '-v', `${dataDir}:/data`, IMAGE]);
  const url = `http://127.0.0.1:${ports.http}`;
  return { name, ports, dataDir, url, api: apiClient(url) };
}

/** Waits for `what` to answer 200: mgmt/versions (HTTP is up) or mgmt/check (Redis up, boot done). */
async function answering(i: Instance, what: 'versions' | 'check' = 'check', timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => (await i.api(`/terraform/v1/mgmt/${what}`).catch(() => ({ status: 0 }))).status === 200,
    timeoutMs,
    () => `${i.name} answers mgmt/${what}\n${sh('podman', ['logs', i.name]).out.slice(-3000)}`,
  );
}

async function call(i: Instance, bearer: string, name: string, body: unknown = {}): Promise<unknown> {
  const res = await i.api(`/terraform/v1/${name}`, body, { bearer });
  assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.json)}`);
  return res.json.data;
}

async function login(i: Instance): Promise<void> {
  const res = await i.api('/terraform/v1/mgmt/login', { password: ADMIN_PASSWORD });
  assert.equal(res.status, 200, `login on ${i.name}: ${JSON.stringify(res.json)}`);
  assert.ok((res.json.data as { token: string }).token);
}

async function engineReady(i: Instance, bearer: string): Promise<void> {
  await waitFor(
    async () =>
      ((await call(i, bearer, 'mgmt/supervisor/query')) as { children: Array<{ name: string; status: string }> }).children.some(
        (c) => c.name === 'nginx' && c.status === 'ready',
      ),
    30_000,
    () => `${i.name}: the media engine is ready`,
  );
}

async function hlsPlayable(i: Instance, stream: string): Promise<void> {
  await waitFor(
    async () => (await fetch(`${i.url}/live/${stream}.m3u8`).catch(() => null))?.status === 200,
    30_000,
    () => `${i.name}: HLS of ${stream}\n${sh('podman', ['logs', i.name]).out.slice(-3000)}`,
  );
  const probe = await ffprobe(`${i.url}/live/${stream}.m3u8`);
  assert.deepEqual(probe.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
}

/** Host pids of every process in the container (podman top), tini first. */
function hostPids(name: string): number[] {
  return podman(['top', name, 'hpid'])
    .split('\n')
    .slice(1)
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0);
}

/** `docker stop` with the grace period; returns how long it took and what the container reported. */
function stopInstance(name: string): { seconds: number; exitCode: number; out: string } {
  const started = Date.now();
  const res = sh('podman', ['stop', '-t', String(STOP_GRACE_S), name]);
  assert.equal(res.rc, 0, res.out);
  const exitCode = Number(podman(['inspect', name, '--format', '{{.State.ExitCode}}']));
  return { seconds: (Date.now() - started) / 1000, exitCode, out: res.out };
}

interface RecordFile {
  uuid: string;
  stream: string;
  status: string;
  nn: number;
}

describe('heavy: the container image, run with podman', function () {
  this.timeout(20 * 60_000);
  const work = HEAVY ? tempDir('srs-stack-image-') : '';
  const publishers: Publisher[] = [];
  const names = ['a', 'b', 'c'].map((n) => `srs-stack-test-${RUN}-${n}`);
  const [nameA = '', nameB = '', nameC = ''] = names;
  let imagesBefore = new Set<string>();
  let previousConf: string | undefined;
  let imageTar = '';
  let a: Instance;
  let bearerA = '';
  let secretA = '';
  let recorded: RecordFile | undefined;
  const started = Date.now();

  before(async function () {
    if (!HEAVY) return this.skip();
    assert.equal(sh('podman', ['--version']).rc, 0, 'podman is needed (scripts/lib.sh TEST_PACKAGES)');
    previousConf = process.env.CONTAINERS_CONF;
    fs.writeFileSync(path.join(work, 'containers.conf'), engineConf());
    process.env.CONTAINERS_CONF = path.join(work, 'containers.conf');
    imagesBefore = new Set(podman(['images', '-a', '-q', '--no-trunc']).split('\n').filter(Boolean));
    const res = sh('bash', [path.join(PACKAGING_DIR, 'make-rootfs.sh'), ROOTFS_TAR]);
    assert.equal(res.rc, 0, res.out);
    fs.mkdirSync(path.join(APT_CACHE, 'partial'), { recursive: true });
    makeBaseImage(work);
  });

  after(() => {
    if (!HEAVY) return;
    for (const p of publishers) p.proc.kill('SIGKILL');
    for (const name of names) sh('podman', ['rm', '-f', '-t', '0', name]);
    // Only what this run created: its tags, then the image ids that were not there before.
    sh('podman', ['rmi', '-f', IMAGE, BASE_IMAGE, ROOTFS_IMAGE]);
    const left = sh('podman', ['images', '-a', '-q', '--no-trunc'])
      .out.split('\n')
      .filter((id) => id && !imagesBefore.has(id));
    if (left.length) sh('podman', ['rmi', '-f', ...left]);
    if (previousConf === undefined) delete process.env.CONTAINERS_CONF;
    else process.env.CONTAINERS_CONF = previousConf;
    fs.rmSync(work, { recursive: true, force: true });
    console.log(`      container image test: ${Math.round((Date.now() - started) / 1000)} s in total`);
  });

  it('builds the image from the release tarball with `npm run release`, saved as a docker-archive', async () => {
    const t0 = Date.now();
    const release = await buildReleaseInto(path.join(work, 'release'), {
      tool: 'podman',
      tag: IMAGE,
      buildArgs: { BASE: BASE_IMAGE },
      buildFlags: ['--pull=never', '--layers=false', '--volume', `${APT_CACHE}:/var/cache/apt/archives`],
      quiet: true,
    });
    const buildSeconds = Math.round((Date.now() - t0) / 1000);
    assert.ok(release.imageTar);
    imageTar = release.imageTar;
    assert.match(fs.readFileSync(path.join(work, 'release', 'SHA256SUMS'), 'utf8'), /^[0-9a-f]{64} {2}srs-stack-image\.tar$/m);

    const [inspected] = JSON.parse(podman(['image', 'inspect', IMAGE])) as Array<{
      Size: number;
      Config: {
        Entrypoint: string[];
        Cmd: string[];
        Env: string[];
        ExposedPorts: Record<string, unknown>;
        Volumes: Record<string, unknown>;
      };
      Healthcheck?: { Test: string[] };
    }>;
    assert.ok(inspected);
    const baseSize = Number(podman(['image', 'inspect', BASE_IMAGE, '--format', '{{.Size}}']));
    const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
    console.log(
      `      build ${buildSeconds} s; image ${mb(inspected.Size)} (base ${mb(baseSize)}, added ${mb(inspected.Size - baseSize)}), ` +
        `saved tar ${mb(fs.statSync(imageTar).size)}`,
    );
    assert.deepEqual(inspected.Config.Entrypoint, ['/usr/bin/tini', '--']);
    assert.deepEqual(inspected.Config.Cmd, ['/usr/local/srs-stack/bin/node', '/usr/local/srs-stack/app/dist/server/main.js']);
    assert.deepEqual(Object.keys(inspected.Config.ExposedPorts).sort(), ['10080/udp', '1935/tcp', '2022/tcp', '2443/tcp', '8000/udp']);
    assert.deepEqual(Object.keys(inspected.Config.Volumes), ['/data']);
    for (const env of ['DATA_DIR=/data', 'NODE_ENV=production', 'PLATFORM_DOCKER=on']) assert.ok(inspected.Config.Env.includes(env), env);
    assert.deepEqual(inspected.Healthcheck?.Test, ['CMD', '/usr/local/srs-stack/bin/srs-stack', 'health']);

    // docker save's layout: manifest.json naming the tag, the config and one tarball per layer.
    const manifest = JSON.parse(sh('tar', ['-xOf', imageTar, 'manifest.json']).out) as Array<{ RepoTags: string[]; Layers: string[] }>;
    assert.equal(manifest.length, 1);
    assert.deepEqual(manifest[0]?.RepoTags, [IMAGE]);
    assert.ok((manifest[0]?.Layers.length ?? 0) > 1);
  });

  it("runs with SRS Stack's run line: answers, says it is in a container, takes RTMP and plays HLS and HTTP-FLV", async () => {
    const dataA = path.join(work, 'data-a');
    fs.mkdirSync(dataA);
    const t0 = Date.now();
    a = runInstance(nameA, await runLinePorts(), dataA);
    await answering(a, 'versions');
    const versionsAt = Date.now() - t0;
    await answering(a);
    assert.deepEqual((await a.api('/terraform/v1/mgmt/versions')).json.data, { version: VERSION });
    const envs = (await a.api('/terraform/v1/mgmt/envs')).json.data as Record<string, unknown>;
    assert.equal(envs.mgmtDocker, true);
    assert.equal(envs.platformDocker, true);
    assert.equal(envs.rtmpPort, String(a.ports.rtmp));

    const init = await a.api('/terraform/v1/mgmt/init', { password: ADMIN_PASSWORD });
    assert.equal(init.status, 200, JSON.stringify(init.json));
    bearerA = (init.json.data as { bearer: string }).bearer;
    secretA = ((await call(a, bearerA, 'hooks/srs/secret/query')) as { publish: string }).publish;
    await call(a, bearerA, 'hooks/record/apply', { all: true });
    await engineReady(a, bearerA);
    const publishAt = Date.now() - t0;
    const publisher = publish(`rtmp://127.0.0.1:${a.ports.rtmp}/live/livestream?secret=${secretA}`);
    publishers.push(publisher);
    await hlsPlayable(a, 'livestream');
    const hlsAt = Date.now() - t0;
    const flv = await ffprobe(`${a.url}/live/livestream.flv`);
    assert.deepEqual(flv.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
    console.log(
      `      cold start (host ports ${JSON.stringify(a.ports)}): mgmt/versions answers ${(versionsAt / 1000).toFixed(1)} s after ` +
        `podman run; RTMP publish from ${(publishAt / 1000).toFixed(1)} s (admin set up, engine ready); first HLS segment ` +
        `playable at ${(hlsAt / 1000).toFixed(1)} s`,
    );

    // tini reaps: no zombie in the container (read from /proc: the slim image has no ps).
    const states = podman(['exec', nameA, 'sh', '-c', 'cat /proc/[0-9]*/stat']);
    assert.doesNotMatch(states, /^\d+ \([^)]*\) Z /m, states);
    // The image's HEALTHCHECK passes once the stack is up.
    assert.equal(sh('podman', ['healthcheck', 'run', nameA]).rc, 0, sh('podman', ['healthcheck', 'run', nameA]).out);
  });

  it('records into /data on the host', async () => {
    await waitFor(
      async () => {
        const files = (await call(a, bearerA, 'hooks/record/files')) as RecordFile[];
        recorded = files.find((f) => f.stream === 'livestream' && f.nn >= 2);
        return recorded !== undefined;
      },
      40_000,
      () => 'a record with two segments',
    );
    assert.ok(recorded);
    await call(a, bearerA, 'hooks/record/end', { uuid: recorded.uuid });
    await waitFor(
      async () =>
        ((await call(a, bearerA, 'hooks/record/files')) as RecordFile[]).some((f) => f.uuid === recorded?.uuid && f.status === 'done'),
      60_000,
      () => 'the record is done',
    );
    assert.ok(fs.statSync(path.join(a.dataDir, 'record', recorded.uuid, 'index.mp4')).size > 0);
  });

  it('runs a second instance side by side on other host ports; its console shows those ports', async () => {
    const dataB = path.join(work, 'data-b');
    fs.mkdirSync(dataB);
    const b = runInstance(nameB, await otherPorts(), dataB);
    await answering(b);
    const envs = (await b.api('/terraform/v1/mgmt/envs')).json.data as Record<string, unknown>;
    assert.deepEqual(
      [envs.rtmpPort, envs.httpPort, envs.srtPort, envs.rtcPort],
      [b.ports.rtmp, b.ports.http, b.ports.srt, b.ports.rtc].map(String),
    );
    const init = await b.api('/terraform/v1/mgmt/init', { password: ADMIN_PASSWORD });
    assert.equal(init.status, 200, JSON.stringify(init.json));
    const bearerB = (init.json.data as { bearer: string }).bearer;
    const cookie = await consoleSession(b.url);
    assert.ok(cookie);
    const html = await (await fetch(`${b.url}/mgmt/scenarios?tab=live`, { headers: { cookie } })).text();
    assert.ok(html.includes(`rtmp://127.0.0.1:${b.ports.rtmp}/live/`), 'the RTMP URL has the host port');
    assert.ok(html.includes(`srt://127.0.0.1:${b.ports.srt}?streamid=`), 'the SRT URL has the host port');
    assert.ok(html.includes(`http://127.0.0.1:${b.ports.http}/live/livestream.flv`), 'the HTTP-FLV URL has the host port');

    // The same stream name on both: each serves its own.
    const secretB = ((await call(b, bearerB, 'hooks/srs/secret/query')) as { publish: string }).publish;
    assert.notEqual(secretB, secretA);
    await engineReady(b, bearerB);
    publishers.push(publish(`rtmp://127.0.0.1:${b.ports.rtmp}/live/livestream?secret=${secretB}`));
    await hlsPlayable(b, 'livestream');
    assert.equal((await fetch(`${a.url}/live/livestream.m3u8`)).status, 200, 'the first instance still plays');

    const pids = hostPids(nameB);
    assert.ok(pids.length >= 4, `tini, node, redis-server, nginx: ${pids.join(' ')}`);
    const stop = stopInstance(nameB);
    assert.equal(stop.exitCode, 0, `the stack exits 0 on SIGTERM, not killed after the grace period\n${stop.out}`);
    assert.ok(stop.seconds < STOP_GRACE_S, `stopped in ${stop.seconds} s`);
    assert.deepEqual(
      pids.filter((pid) => isAlive(pid)),
      [],
      'no process of the container is left',
    );
    sh('podman', ['rm', nameB]);
  });

  it('`docker stop` ends every child in the grace period; `docker start` finds the settings and recordings', async () => {
    for (const p of publishers.splice(0)) await p.stop();
    const pids = hostPids(nameA);
    const stop = stopInstance(nameA);
    assert.equal(stop.exitCode, 0, stop.out);
    assert.ok(stop.seconds < STOP_GRACE_S, `stopped in ${stop.seconds} s`);
    assert.deepEqual(
      pids.filter((pid) => isAlive(pid)),
      [],
    );
    console.log(`      docker stop: ${stop.seconds.toFixed(1)} s for ${pids.length} processes`);
    const logs = sh('podman', ['logs', nameA]).out;
    assert.match(logs, /\[main\] SIGTERM: stopping/);
    assert.match(logs, /\[main\] stopped/);

    podman(['start', nameA]);
    await answering(a);
    await checkKept(a);
  });

  it('an upgrade (a new container from the loaded image tarball) keeps /data', async () => {
    for (const name of [nameA, nameB]) sh('podman', ['rm', '-f', '-t', String(STOP_GRACE_S), name]);
    assert.equal(podman(['ps', '-a', '-q', '--filter', `ancestor=${IMAGE}`]), '', 'no container left on the image');
    podman(['rmi', IMAGE]);
    assert.notEqual(sh('podman', ['image', 'exists', IMAGE]).rc, 0, 'the image is gone before the load');
    podman(['load', '-i', imageTar]);
    const c = runInstance(nameC, a.ports, a.dataDir);
    await answering(c);
    await checkKept(c);
    assert.equal(((await c.api('/terraform/v1/mgmt/envs')).json.data as { mgmtDocker: boolean }).mgmtDocker, true);
    assert.equal(stopInstance(nameC).exitCode, 0);
  });

  /** The admin password, the API secret, the publish secret, the record setting and the finished record survive. */
  async function checkKept(i: Instance): Promise<void> {
    await login(i);
    assert.equal(((await call(i, bearerA, 'hooks/srs/secret/query')) as { publish: string }).publish, secretA);
    assert.equal(((await call(i, bearerA, 'hooks/record/query')) as { all: boolean }).all, true);
    const files = (await call(i, bearerA, 'hooks/record/files')) as RecordFile[];
    assert.ok(
      files.some((f) => f.uuid === recorded?.uuid && f.status === 'done'),
      JSON.stringify(files),
    );
  }
});
