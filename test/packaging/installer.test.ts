// The installer's rules (pure), the release tarball it ships in, and its refusals.
import assert from 'node:assert/strict';
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
  listeningInodes(text: string, port: number): string[];
  isOurs(cgroup: string, ancestorCmdlines?: string[]): boolean;
  stockServicesToDisable(newlyInstalled: string[], panelHost: boolean): string[];
  boundUdpInodes(text: string, port: number): string[];
  SRT_PACKAGES: string[];
  chooseSrtPackage(known: string[]): string | null;
  firewallPorts(
    config: Record<string, number | { listen: number }>,
    opts?: { frontNginx?: boolean },
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

describe('release tarball (npm run release)', function () {
  this.timeout(120_000);
  let out = '';
  let build: ReleaseBuild;
  let entries: string[] = [];

  before(async () => {
    out = tempDir('srs-stack-release-');
    build = await buildReleaseInto(out);
    entries = sh('tar', ['-tzvf', build.tarball]).out.trim().split('\n');
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

  it('leaves out tests, dev dependencies, source maps and native addons', () => {
    const list = names();
    assert.ok(!list.some((n) => n.startsWith('srs-stack/dist/test/')));
    for (const dev of ['mocha', 'typescript', 'playwright-core', 'eslint']) {
      assert.ok(!list.some((n) => n.startsWith(`srs-stack/node_modules/${dev}/`)), dev);
    }
    assert.ok(!list.some((n) => n.endsWith('.map')));
    assert.ok(!list.some((n) => n.endsWith('.node')), 'pure JavaScript: one tarball for x64 and arm64');
    assert.ok(!list.some((n) => /(release|bootstrap)\.(mjs|sh)$/.test(n)), 'build-side scripts stay out');
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
    const unpacked = path.join(out, 'unpacked');
    fs.mkdirSync(unpacked);
    assert.equal(sh('tar', ['-xzf', build.tarball, '-C', unpacked]).rc, 0);
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
    const child = spawn(process.execPath, ['dist/server/main.js'], { cwd: path.join(unpacked, 'srs-stack'), env, stdio: 'ignore' });
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
