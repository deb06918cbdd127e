// The installer's rules (pure), the release tarball it ships in, and its refusals.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, tempDir } from '../helpers/stack.js';
import { ROOT, buildReleaseInto, sh, type ReleaseBuild } from './helpers.js';

interface Rules {
  checkOs(text: string): { ok: boolean; reason?: string; name: string };
  parseOptions(args: string[], env?: Record<string, string>): Record<string, unknown>;
  editSysctl(text: string): string;
  ensureEnvKeys(text: string, pairs: Record<string, string>): string;
  setEnvKeys(text: string, pairs: Record<string, string>): string;
  listeningInodes(text: string, port: number): string[];
  isOurs(cgroup: string, ancestorCmdlines?: string[]): boolean;
  stockServicesToDisable(newlyInstalled: string[], panelHost: boolean): string[];
  boundUdpInodes(text: string, port: number): string[];
  SRT_PACKAGES: string[];
  chooseSrtPackage(known: string[]): string | null;
  firewallPorts(
    config: Record<string, number | { listen: number }>,
    opts?: { frontNginx?: boolean; edge?: boolean },
  ): Array<{ port: number; protocol: string; what: string }>;
  ufwActive(statusText: string): boolean;
}
const loadRules = async () => (await import(pathToFileURL(path.join(ROOT, 'installer', 'lib', 'rules.mjs')).href)) as Rules;
const osRelease = (id: string, version: string, like = '') =>
  `PRETTY_NAME="${id} ${version}"\nID=${id}\n${like ? `ID_LIKE="${like}"\n` : ''}VERSION_ID="${version}"\n`;

describe('installer rules', () => {
  let rules: Rules;
  before(async () => {
    rules = await loadRules();
  });

  it('supports Ubuntu 20.04+ and Debian 11+ and refuses older or other systems, CentOS with its reason', () => {
    for (const [id, version] of [
      ['ubuntu', '20.04'],
      ['ubuntu', '24.04'],
      ['debian', '11'],
      ['debian', '12'],
    ] as const) {
      assert.equal(rules.checkOs(osRelease(id, version)).ok, true, `${id} ${version}`);
    }
    assert.equal(rules.checkOs(osRelease('ubuntu', '18.04')).reason, 'version');
    assert.equal(rules.checkOs(osRelease('debian', '10')).reason, 'version');
    assert.equal(rules.checkOs(osRelease('centos', '7', 'rhel fedora')).reason, 'rhel');
    assert.equal(rules.checkOs(osRelease('rocky', '9.3', 'rhel centos fedora')).reason, 'rhel');
    assert.equal(rules.checkOs(osRelease('arch', '')).reason, 'unknown');
    assert.equal(rules.checkOs('').ok, false);
  });

  it('reads the command line and names what is wrong', () => {
    assert.deepEqual(rules.parseOptions([]), {
      command: 'install',
      language: 'en',
      cloud: 'BIN',
      start: true,
      frontNginx: false,
      help: false,
      edge: null,
    });
    assert.equal(rules.parseOptions([], { LANG: 'zh_CN.UTF-8' }).language, 'zh');
    const image = rules.parseOptions(['install', '--cloud', 'do', '--no-start', '--front-nginx', '--language=zh']);
    assert.deepEqual([image.cloud, image.start, image.frontNginx, image.language], ['DO', false, true, 'zh']);
    assert.equal(rules.parseOptions(['uninstall']).command, 'uninstall');
    assert.equal(rules.parseOptions(['-h']).help, true);
    assert.throws(() => rules.parseOptions(['--port', '80']), /unknown option --port/);
    assert.throws(() => rules.parseOptions(['--language', 'fr']), /--language must be en or zh/);
    assert.throws(() => rules.parseOptions(['--cloud', 'aws']), /--cloud must be one of/);
    assert.throws(() => rules.parseOptions(['upgrade']), /unknown command "upgrade"/);
  });

  it('reads --edge --origin URL as the origin of an edge, and refuses either alone or a URL with a path', () => {
    assert.equal(rules.parseOptions(['--edge', '--origin', 'http://origin.example.com:2022']).edge, 'http://origin.example.com:2022');
    assert.equal(rules.parseOptions(['--edge', '--origin=https://origin.example.com/']).edge, 'https://origin.example.com');
    assert.throws(() => rules.parseOptions(['--edge']), /--edge needs --origin URL/);
    assert.throws(() => rules.parseOptions(['--origin', 'http://o:2022']), /--origin goes with --edge/);
    assert.throws(() => rules.parseOptions(['--edge', '--origin', 'http://o:2022/live']), /without a path/);
    assert.throws(() => rules.parseOptions(['--edge', '--origin', 'rtmp://o']), /http:\/\/ or https:\/\//);
    // An explicit --edge replaces an earlier origin in place; other keys stay.
    assert.equal(
      rules.setEnvKeys('CLOUD=BIN\nEDGE_ORIGIN=http://old:2022\n', { EDGE_ORIGIN: 'http://new:2022' }),
      'CLOUD=BIN\nEDGE_ORIGIN=http://new:2022\n',
    );
    assert.equal(rules.setEnvKeys('CLOUD=BIN', { EDGE_ORIGIN: 'http://new:2022' }), 'CLOUD=BIN\nEDGE_ORIGIN=http://new:2022\n');
    assert.equal(rules.setEnvKeys('', { EDGE_ORIGIN: 'http://new:2022' }), 'EDGE_ORIGIN=http://new:2022\n');
  });

  it('sets the UDP buffers in sysctl.conf in place or once at the end, idempotently', () => {
    const original = '# kernel settings\nnet.core.rmem_max=212992\nvm.swappiness = 10\n';
    const once = rules.editSysctl(original);
    assert.equal(rules.editSysctl(once), once);
    assert.match(once, /^net\.core\.rmem_max = 16777216\nvm\.swappiness = 10\n/m, 'an existing key is replaced where it is');
    for (const key of ['rmem_max', 'rmem_default', 'wmem_max', 'wmem_default']) {
      assert.equal(once.match(new RegExp(`net\\.core\\.${key}\\s*=`, 'g'))?.length, 1, key);
    }
    assert.equal(rules.editSysctl(rules.editSysctl('')), rules.editSysctl(''));
  });

  it('adds only the .env keys the user has not set', () => {
    const env = 'MGMT_LISTEN=3022\nREACT_APP_LOCALE=zh\n';
    assert.equal(rules.ensureEnvKeys(env, { REACT_APP_LOCALE: 'en', CLOUD: 'BIN' }), `${env}CLOUD=BIN\n`);
    assert.equal(rules.ensureEnvKeys(`${env}CLOUD=BT`, { CLOUD: 'BIN', REACT_APP_LOCALE: 'en' }), `${env}CLOUD=BT`);
    assert.equal(rules.ensureEnvKeys('', { CLOUD: 'DO' }), 'CLOUD=DO\n');
  });

  it('finds listeners of a port in /proc/net/tcp and tells the stack’s own from others', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:07E6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:078F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 100 0 0 10 0',
      '   2: 0100007F:07E6 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    assert.deepEqual(rules.listeningInodes(table, 2022), ['4242'], 'established connections are not listeners');
    assert.deepEqual(rules.listeningInodes(table, 1935), ['4343']);
    assert.deepEqual(rules.listeningInodes(table, 80), []);
    assert.equal(rules.isOurs('0::/system.slice/srs-stack.service\n'), true);
    assert.equal(rules.isOurs('1:name=systemd:/system.slice/srs-stack.service\n'), true, 'cgroup v1');
    assert.equal(rules.isOurs('0::/system.slice/srs-stack-test.service\n'), false);
    assert.equal(rules.isOurs('0::/user.slice/user-0.slice/session-1.scope\n'), false);
    const main = '/usr/local/srs-stack/bin/node\0/usr/local/srs-stack/app/dist/server/main.js\0';
    const engine = 'nginx: master process nginx -p /data/engine\0';
    assert.equal(rules.isOurs('0::/\n', [engine, main, '/sbin/init\0']), true, 'the engine started by the installed stack');
    assert.equal(rules.isOurs('0::/\n', [engine, '/usr/bin/node\0/tmp/other/main.js\0']), false);
  });

  it('finds sockets bound to a UDP port in /proc/net/udp (SRT, WebRTC)', () => {
    const table = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  364: 00000000:2760 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5151 2 0000000000000000 0',
      ' 4532: 0100007F:1F40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5252 2 0000000000000000 0',
      ' 4533: 0100007F:9C40 0100007F:1F40 01 00000000:00000000 00:00000000 00000000     0        0 5353 2 0000000000000000 0',
    ].join('\n');
    assert.deepEqual(rules.boundUdpInodes(table, 10080), ['5151']);
    assert.deepEqual(rules.boundUdpInodes(table, 8000), ['5252'], 'a peer on the port is not a holder');
    assert.deepEqual(rules.boundUdpInodes(table, 1935), []);
    const udp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '   1: 00000000000000000000000000000000:2760 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 6161 2 0000000000000000 0',
    ].join('\n');
    assert.deepEqual(rules.boundUdpInodes(udp6, 10080), ['6161']);
  });

  it("installs the OpenSSL libsrt of the system's release: 1.5 where apt has it, else 1.4, else none", () => {
    assert.deepEqual(rules.SRT_PACKAGES, ['libsrt1.5-openssl', 'libsrt1.4-openssl']);
    assert.equal(rules.chooseSrtPackage(['libsrt1.4-openssl', 'libsrt1.5-openssl']), 'libsrt1.5-openssl', 'Debian 12, Ubuntu 24.04');
    assert.equal(rules.chooseSrtPackage(['libsrt1.4-openssl']), 'libsrt1.4-openssl', 'Debian 11, Ubuntu 22.04');
    assert.equal(rules.chooseSrtPackage(['libsrt1.5-gnutls']), null, 'the GnuTLS flavour is not what SRS links');
    assert.equal(rules.chooseSrtPackage([]), null);
  });

  it('opens the console, HTTPS, RTMP and the UDP ports of WebRTC and SRT (the configured ones, else 8000 and 10080)', () => {
    const config = { mgmtListen: 2022, httpsListen: 2443, rtmpListen: 1935 };
    const names = (list: Array<{ port: number; protocol: string }>) => list.map(({ port, protocol }) => `${port}/${protocol}`);
    assert.deepEqual(names(rules.firewallPorts(config)), ['2022/tcp', '2443/tcp', '1935/tcp', '8000/udp', '10080/udp']);
    assert.deepEqual(names(rules.firewallPorts({ ...config, rtc: { listen: 18000 }, srt: { listen: 20080 } })).slice(3), [
      '18000/udp',
      '20080/udp',
    ]);
    assert.deepEqual(names(rules.firewallPorts(config, { frontNginx: true })).slice(0, 2), ['80/tcp', '443/tcp']);
    assert.deepEqual(
      names(rules.firewallPorts({ ...config, mgmtListen: 80 }, { frontNginx: true })),
      ['80/tcp', '443/tcp', '2443/tcp', '1935/tcp', '8000/udp', '10080/udp'],
      'no port twice',
    );
    assert.deepEqual(names(rules.firewallPorts(config, { edge: true })), ['2022/tcp', '1935/tcp'], 'an edge serves HTTP and RTMP only');
    assert.equal(rules.ufwActive('Status: active\n\nTo Action From\n'), true);
    assert.equal(rules.ufwActive('Status: inactive\n'), false);
    assert.equal(rules.ufwActive(''), false);
  });

  it("disables the distribution's nginx only off panels, and its redis always, when this run installed them", () => {
    assert.deepEqual(rules.stockServicesToDisable(['ffmpeg', 'nginx-core', 'redis-server'], false), ['nginx', 'redis-server']);
    assert.deepEqual(rules.stockServicesToDisable(['nginx-core', 'redis-server'], true), ['redis-server']);
    assert.deepEqual(rules.stockServicesToDisable(['ffmpeg'], false), [], 'packages the user already had are left alone');
  });
});

describe('installer entry points', () => {
  const setup = path.join(ROOT, 'installer', 'setup.sh');

  it('prints its help in English and Chinese without needing root or Node.js', () => {
    const en = sh('bash', [setup, '--help']);
    assert.equal(en.rc, 0);
    assert.match(en.out, /bash installer\/setup.sh uninstall/);
    assert.match(en.out, /--language en\|zh/);
    assert.match(sh('bash', [setup, '-h', '--language', 'zh']).out, /卸载服务和程序，保留 \/data/);
    const viaNode = sh(process.execPath, [path.join(ROOT, 'installer', 'install.mjs'), '--help']);
    assert.equal(viaNode.out, en.out);
  });

  it('refuses to run as an ordinary user, before touching anything', () => {
    const res = sh('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', setup]);
    assert.equal(res.rc, 1);
    assert.match(res.out, /Please run the installer as root/);
  });

  it('refuses unknown options with a pointer to --help', () => {
    const res = sh(process.execPath, [path.join(ROOT, 'installer', 'install.mjs'), '--bogus']);
    assert.equal(res.rc, 1);
    assert.match(res.out, /unknown option --bogus \(see --help\)/);
  });
});

interface ReleaseModule {
  fetchPlatformPackages(
    list: Array<{ name: string; version: string; integrity?: string }>,
    opts: { cacheDir: string },
  ): Promise<Map<string, string>>;
  platformPackages(lock: Lock): { parents: string[]; ship: Array<{ key: string; name: string; version: string }>; skip: Set<string> };
  matchesIntegrity(data: Buffer, integrity: string): boolean;
}
interface Lock {
  packages: Record<
    string,
    { version?: string; optional?: boolean; dev?: boolean; os?: string[]; cpu?: string[]; libc?: string[] } & Record<string, unknown>
  >;
}
const loadRelease = async () => (await import(pathToFileURL(path.join(ROOT, 'installer', 'release.mjs')).href)) as ReleaseModule;

/** A lockfile as npm writes it for a dependency whose binaries come as per-platform optional packages. */
function addonLock(
  parent: string,
  children: Record<string, { os: string[]; cpu: string[]; libc?: string[] }>,
  extra: Lock['packages'] = {},
) {
  const packages: Lock['packages'] = {
    '': { name: 'srs-stack' },
    [`node_modules/${parent}`]: {
      version: '1.0.0',
      optionalDependencies: Object.fromEntries(Object.keys(children).map((c) => [c, '1.0.0'])),
    },
  };
  for (const [name, meta] of Object.entries(children)) {
    packages[`node_modules/${name}`] = { version: '1.0.0', optional: true, integrity: `sha512-${name}`, ...meta };
  }
  return { packages: { ...packages, ...extra } };
}

describe('release: platform packages of native addons', () => {
  let release: ReleaseModule;
  before(async () => {
    release = await loadRelease();
  });
  const linux = (cpu: string, libc?: string) => ({ os: ['linux'], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) });

  it('ships the linux-x64 and linux-arm64 glibc packages of every addon, nothing for other systems or musl', () => {
    // node-datachannel's layout (libc in the lockfile) and koffi's (one linux package per CPU, musl inside).
    const lock = addonLock('node-datachannel', {
      '@node-datachannel/linux-x64-gnu': linux('x64', 'glibc'),
      '@node-datachannel/linux-x64-musl': linux('x64', 'musl'),
      '@node-datachannel/linux-arm64-gnu': linux('arm64', 'glibc'),
      '@node-datachannel/linux-arm64-musl': linux('arm64', 'musl'),
      '@node-datachannel/darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
      '@node-datachannel/win32-x64-msvc': { os: ['win32'], cpu: ['x64'] },
    });
    const koffi = addonLock('koffi', {
      '@koromix/koffi-linux-x64': linux('x64'),
      '@koromix/koffi-linux-arm64': linux('arm64'),
      '@koromix/koffi-linux-arm': linux('arm'),
      '@koromix/koffi-freebsd-x64': { os: ['freebsd'], cpu: ['x64'] },
    });
    const both = { packages: { ...lock.packages, ...koffi.packages } };
    const result = release.platformPackages(both);
    assert.deepEqual(result.parents.sort(), ['node_modules/koffi', 'node_modules/node-datachannel']);
    assert.deepEqual(result.ship.map((p) => p.name).sort(), [
      '@koromix/koffi-linux-arm64',
      '@koromix/koffi-linux-x64',
      '@node-datachannel/linux-arm64-gnu',
      '@node-datachannel/linux-x64-gnu',
    ]);
    assert.deepEqual(result.ship.map((p) => p.key).sort(), result.ship.map((p) => `node_modules/${p.name}`).sort());
    assert.ok(result.skip.has('node_modules/@node-datachannel/linux-x64-musl'));
    assert.ok(result.skip.has('node_modules/@koromix/koffi-freebsd-x64'));
  });

  it('leaves dev-only addons and macOS-only optional packages (fsevents) alone', () => {
    const lock = addonLock('chokidar', { fsevents: { os: ['darwin'], cpu: ['x64', 'arm64'] } });
    lock.packages['node_modules/playwright-ish'] = { version: '1.0.0', dev: true, optionalDependencies: { 'pw-linux-x64': '1.0.0' } };
    lock.packages['node_modules/pw-linux-x64'] = { version: '1.0.0', dev: true, optional: true, os: ['linux'], cpu: ['x64'] };
    const result = release.platformPackages(lock);
    assert.deepEqual([result.parents, result.ship], [[], []]);
  });

  it('refuses a lockfile where an addon has no build for one of the targets', () => {
    const lock = addonLock('x64-only', { 'x64-only-linux-x64': linux('x64') });
    assert.throws(() => release.platformPackages(lock), /x64-only: no optional package for linux-arm64 \(glibc\)/);
  });

  it('fetches with npm pack into the cache, and refuses a tarball that does not match the lockfile', async () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
    const name = '@koromix/koffi-linux-arm64';
    const { version, integrity } = lock.packages[`node_modules/${name}`] as { version: string; integrity: string };
    const cacheDir = tempDir('srs-stack-addons-');
    try {
      const files = await release.fetchPlatformPackages([{ name, version, integrity }], { cacheDir });
      const file = files.get(name) ?? '';
      assert.equal(release.matchesIntegrity(fs.readFileSync(file), integrity), true);
      const wrong = `sha512-${crypto.createHash('sha512').update('not koffi').digest('base64')}`;
      await assert.rejects(
        release.fetchPlatformPackages([{ name, version, integrity: wrong }], { cacheDir: path.join(cacheDir, 'other') }),
        /does not match package-lock\.json's integrity/,
      );
      assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'other')), [], 'nothing unverified is kept');
      await assert.rejects(release.fetchPlatformPackages([{ name, version }], { cacheDir }), /package-lock\.json has no integrity/);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('checks tarballs against an SRI integrity string', () => {
    const data = Buffer.from('tarball bytes');
    const sha512 = `sha512-${crypto.createHash('sha512').update(data).digest('base64')}`;
    assert.equal(release.matchesIntegrity(data, sha512), true);
    assert.equal(release.matchesIntegrity(Buffer.from('other bytes'), sha512), false);
    assert.equal(
      release.matchesIntegrity(data, `sha1-${crypto.createHash('sha1').update(data).digest('base64')} sha512-AAAA`),
      false,
      'the strongest algorithm decides',
    );
    assert.equal(release.matchesIntegrity(data, ''), false);
  });
});

/** The lockfile's addons: production packages with optional dependencies that name a system or CPU. */
function lockAddons() {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
  const addons = Object.entries(lock.packages).filter(
    ([key, meta]) =>
      key.startsWith('node_modules/') &&
      !meta.dev &&
      Object.keys((meta.optionalDependencies as Record<string, string>) ?? {}).some((name) => lock.packages[`node_modules/${name}`]?.os),
  );
  return { lock, addons };
}

/** The machine an ELF file is built for (e_machine): 62 is x86-64, 183 is AArch64. */
function elfMachine(file: string): string {
  const head = fs.readFileSync(file).subarray(0, 20);
  if (head.subarray(0, 4).toString('latin1') !== '\x7fELF') return 'not ELF';
  return { 62: 'x64', 183: 'arm64' }[head.readUInt16LE(18)] ?? `machine ${head.readUInt16LE(18)}`;
}

/** Files under `dir` whose name ends with `suffix`, as paths relative to `dir`. */
function filesEndingWith(dir: string, suffix: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(suffix)).sort();
}

describe('release tarball (npm run release)', function () {
  this.timeout(120_000);
  let out = '';
  let build: ReleaseBuild;
  let entries: string[] = [];
  let app = '';

  before(async () => {
    out = tempDir('srs-stack-release-');
    build = await buildReleaseInto(out);
    entries = sh('tar', ['-tzvf', build.tarball]).out.trim().split('\n');
    const unpacked = path.join(out, 'unpacked');
    fs.mkdirSync(unpacked);
    assert.equal(sh('tar', ['-xzf', build.tarball, '-C', unpacked]).rc, 0);
    app = path.join(unpacked, 'srs-stack');
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  const names = () => entries.map((line) => line.split(/\s+/).pop() as string);

  it('has one top folder srs-stack/ with the built server, views, installer and production modules', () => {
    assert.deepEqual([...new Set(names().map((n) => n.split('/')[0]))], ['srs-stack']);
    for (const must of [
      'srs-stack/dist/server/main.js',
      'srs-stack/views/',
      'srs-stack/installer/setup.sh',
      'srs-stack/installer/install.mjs',
      'srs-stack/installer/files/srs-stack.service',
      'srs-stack/node_modules/koa/package.json',
      'srs-stack/node_modules/zx/package.json',
      'srs-stack/package-lock.json',
    ]) {
      assert.ok(names().includes(must), must);
    }
    const setupLine = entries.find((line) => line.endsWith(' srs-stack/installer/setup.sh'));
    assert.match(setupLine ?? '', /^-rwxr-xr-x/, 'setup.sh stays executable');
  });

  it('leaves out tests, dev dependencies, source maps and build-side scripts', () => {
    const list = names();
    assert.ok(!list.some((n) => n.startsWith('srs-stack/dist/test/')));
    for (const dev of ['mocha', 'typescript', 'playwright-core', 'eslint']) {
      assert.ok(!list.some((n) => n.startsWith(`srs-stack/node_modules/${dev}/`)), dev);
    }
    assert.ok(!list.some((n) => n.endsWith('.map')));
    assert.ok(!list.some((n) => /(release|bootstrap)\.(mjs|sh)$/.test(n)), 'build-side scripts stay out');
  });

  it('has native code only in the Linux x64/arm64 platform packages of the addons', () => {
    const addons = filesEndingWith(path.join(app, 'node_modules'), '.node');
    assert.ok(addons.length > 0, 'koffi (SRT) ships native binaries');
    for (const file of addons) {
      // The package a binary belongs to: the innermost <name> or @scope/<name> after a node_modules/.
      const nested = file.lastIndexOf('/node_modules/');
      const base = nested < 0 ? '' : file.slice(0, nested + '/node_modules/'.length);
      const [first = '', second = ''] = file.slice(base.length).split('/');
      const pkgDir = base + (first.startsWith('@') ? `${first}/${second}` : first);
      const manifest = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', pkgDir, 'package.json'), 'utf8')) as {
        os?: string[];
        cpu?: string[];
        libc?: string[];
      };
      assert.deepEqual(manifest.os, ['linux'], `${file}: only in a Linux platform package`);
      assert.equal(manifest.cpu?.length, 1, file);
      assert.ok(['x64', 'arm64'].includes(manifest.cpu?.[0] ?? ''), `${file}: cpu ${manifest.cpu?.join()}`);
      assert.ok(!manifest.libc || manifest.libc.includes('glibc'), `${file}: libc ${manifest.libc?.join()}`);
    }
    // No platform package of another system or CPU came along.
    for (const file of filesEndingWith(path.join(app, 'node_modules'), 'package.json')) {
      const manifest = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', file), 'utf8')) as { os?: string[]; cpu?: string[] };
      if (manifest.os) assert.deepEqual(manifest.os, ['linux'], file);
      if (manifest.cpu)
        assert.ok(
          manifest.cpu.every((c) => ['x64', 'arm64'].includes(c)),
          `${file}: cpu ${manifest.cpu.join()}`,
        );
    }
  });

  it('carries x64 and arm64 Linux binaries of every addon in the lockfile, at its versions', () => {
    const { lock, addons } = lockAddons();
    assert.ok(
      addons.some(([key]) => key === 'node_modules/koffi'),
      'koffi is one',
    );
    for (const [key, meta] of addons) {
      const machines = new Set<string>();
      for (const name of Object.keys(meta.optionalDependencies as Record<string, string>)) {
        const dir = path.join(app, 'node_modules', name);
        if (!fs.existsSync(dir)) continue;
        const shipped = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
        assert.equal(shipped.version, lock.packages[`node_modules/${name}`]?.version, `${name}: the lockfile's version`);
        for (const file of filesEndingWith(dir, '.node')) {
          // musl builds ride in some glibc packages (koffi's); the glibc ones are what counts here.
          if (!/musl/.test(file)) machines.add(elfMachine(path.join(dir, file)));
        }
      }
      assert.deepEqual([...machines].sort(), ['arm64', 'x64'], `${key}: glibc binaries for both CPUs`);
    }
  });

  it("the staged app's addons load on this machine (koffi calls into libc)", () => {
    const script = "const k = (await import('koffi')).default; console.log(k.load('libc.so.6').func('int getpid()')() === process.pid);";
    const res = sh(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env: { PATH: process.env.PATH } });
    assert.equal(res.rc, 0, res.out);
    assert.equal(res.out.trim(), 'true');
    // Every other addon (node-datachannel for WebRTC) at least loads its binary.
    for (const [key] of lockAddons().addons) {
      const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const loaded = sh(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(name)})`], {
        cwd: app,
        env: { PATH: process.env.PATH },
      });
      assert.equal(loaded.rc, 0, `${name}: ${loaded.out}`);
    }
  });

  it('writes install.sh pointing at this tarball with its SHA-256, and SHA256SUMS', () => {
    const installSh = fs.readFileSync(build.installSh, 'utf8');
    assert.match(installSh, new RegExp(`stamped_url='https://releases.example.invalid/v${build.version}/linux-srs_stack.tar.gz'`));
    assert.match(installSh, new RegExp(`stamped_sha256='${build.sha256}'`));
    assert.match(fs.readFileSync(path.join(out, 'SHA256SUMS'), 'utf8'), new RegExp(`^${build.sha256}  linux-srs_stack.tar.gz$`, 'm'));
    assert.equal(sh('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out }).rc, 0);
  });

  it('the unstamped bootstrap refuses without a release URL', () => {
    const res = sh('bash', [path.join(ROOT, 'installer', 'bootstrap.sh')], { env: { PATH: process.env.PATH } });
    assert.equal(res.rc, 1);
    assert.match(res.out, /set SRS_STACK_RELEASE_URL/);
  });

  it('the bootstrap refuses a tarball whose checksum does not match', () => {
    const res = sh('bash', [build.installSh], {
      env: { PATH: process.env.PATH, SRS_STACK_RELEASE_URL: `file://${build.tarball}`, SRS_STACK_RELEASE_SHA256: '0'.repeat(64) },
    });
    assert.equal(res.rc, 1);
    assert.match(res.out, /SHA-256 mismatch/);
  });

  it('boots from the unpacked tarball alone: the bundled modules are complete', async () => {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      DATA_DIR: path.join(out, 'data'),
      MGMT_LISTEN: String(port),
      HTTPS_LISTEN: String(await freePort()),
      RTMP_LISTEN: String(await freePort()),
      LISTEN_HOST: '127.0.0.1',
    };
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['dist/server/main.js'], { cwd: app, env, stdio: 'ignore' });
    try {
      let body: { code?: number; data?: { version?: string } } = {};
      for (let i = 0; i < 60 && body.code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        body = await fetch(`http://127.0.0.1:${port}/terraform/v1/mgmt/versions`)
          .then((r) => r.json() as Promise<typeof body>)
          .catch(() => ({}));
      }
      assert.deepEqual(body.data, { version: build.version });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
