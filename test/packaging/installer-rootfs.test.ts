// HEAVY, opt-in (SRS_STACK_HEAVY_TESTS=1): the real installer in a real Debian bookworm rootfs,
// booted with systemd-nspawn (or, where that cannot boot, run in a chroot with systemctl stubbed;
// SRS_STACK_ROOTFS_MODE=nspawn|chroot forces one). It downloads Debian packages and the Node.js
// runtime, so it takes minutes and stays out of the default run (README "Tests of the packaging").
// The rootfs tarball and the apt archives are cached under /var/cache/srs-stack-test/.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, tempDir } from '../helpers/stack.js';
import { PACKAGING_DIR, ROOT, buildReleaseInto } from './helpers.js';

const HEAVY = process.env.SRS_STACK_HEAVY_TESTS === '1';
const MODE = process.env.SRS_STACK_ROOTFS_MODE ?? 'auto';
const CACHE = '/var/cache/srs-stack-test';
const ROOTFS_TAR = path.join(CACHE, 'bookworm-rootfs.tar');
const APT_CACHE = path.join(CACHE, 'apt-archives');
const RUN_TIMEOUT_MS = 25 * 60_000;
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function run(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { stdio: 'inherit' });
  assert.equal(res.status, 0, `${cmd} ${args.join(' ')} failed`);
}

function capture(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(log);
    });
  });
}

/** Boots the rootfs; a oneshot unit runs the scenario script and powers the container off. */
function bootNspawn(rootfs: string): Promise<string> {
  const unit = path.join(rootfs, 'etc/systemd/system/srs-stack-test.service');
  fs.writeFileSync(
    unit,
    '[Unit]\nDescription=SRS Stack installer test\n[Service]\nType=oneshot\nExecStart=/bin/bash /root/srs-test/inside.sh\n' +
      'StandardOutput=journal+console\nStandardError=journal+console\nTimeoutStartSec=infinity\n[Install]\nWantedBy=multi-user.target\n',
  );
  const wants = path.join(rootfs, 'etc/systemd/system/multi-user.target.wants');
  fs.mkdirSync(wants, { recursive: true });
  fs.symlinkSync('/etc/systemd/system/srs-stack-test.service', path.join(wants, 'srs-stack-test.service'));
  return capture('systemd-nspawn', [
    '--register=no',
    '--keep-unit',
    '-q',
    '-b',
    '-D',
    rootfs,
    `--bind=${APT_CACHE}:/var/cache/apt/archives`,
  ]);
}

/** No systemd: the scenario script runs in a chroot (own mount and pid namespaces), systemctl stubbed. */
function runChroot(rootfs: string): Promise<string> {
  fs.copyFileSync(path.join(PACKAGING_DIR, 'systemctl-stub.sh'), path.join(rootfs, 'usr/local/sbin/systemctl'));
  fs.chmodSync(path.join(rootfs, 'usr/local/sbin/systemctl'), 0o755);
  fs.copyFileSync('/etc/resolv.conf', path.join(rootfs, 'etc/resolv.conf'));
  const inside =
    `mount -t proc proc ${rootfs}/proc && mount --bind /dev ${rootfs}/dev && ` +
    `mount --bind ${APT_CACHE} ${rootfs}/var/cache/apt/archives && mount -t tmpfs tmpfs ${rootfs}/run && ` +
    `exec chroot ${rootfs} /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash /root/srs-test/inside.sh`;
  return capture('unshare', ['--mount', '--pid', '--fork', '--propagation', 'private', 'bash', '-c', inside]);
}

/**
 * Unpacks a fresh rootfs, lets `prepare` put the scenario in it (script, artifacts, /data/config/.env),
 * runs it and returns the folder of results (the scenario script writes <step>.out / <step>.rc).
 */
async function runScenario(name: string, prepare: (rootfs: string, testDir: string) => Promise<void>) {
  const attempt = async (mode: 'nspawn' | 'chroot') => {
    const rootfs = fs.mkdtempSync(`/var/tmp/srs-stack-rootfs-${name}.`);
    run('tar', ['-xf', ROOTFS_TAR, '-C', rootfs]);
    // The container reaches the registries through the host's network, so it trusts what the host
    // trusts (a TLS-inspecting egress proxy's CA, for instance).
    for (const trust of ['/usr/local/share/ca-certificates', '/etc/ssl/certs/ca-certificates.crt']) {
      if (fs.existsSync(trust)) fs.cpSync(trust, path.join(rootfs, trust), { recursive: true });
    }
    const testDir = path.join(rootfs, 'root', 'srs-test');
    fs.mkdirSync(testDir, { recursive: true });
    fs.copyFileSync(path.join(PACKAGING_DIR, 'rootfs-lib.sh'), path.join(testDir, 'rootfs-lib.sh'));
    await prepare(rootfs, testDir);
    const log = await (mode === 'nspawn' ? bootNspawn(rootfs) : runChroot(rootfs));
    fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, '.tmp', `heavy-${name}-${mode}.log`), log);
    return { rootfs, mode, log, results: path.join(testDir, 'results') };
  };
  let outcome = await attempt(MODE === 'chroot' ? 'chroot' : 'nspawn');
  if (MODE === 'auto' && !fs.existsSync(path.join(outcome.results, 'started'))) {
    console.log(`      systemd-nspawn could not boot the rootfs; falling back to a chroot:\n${outcome.log.slice(-1500)}`);
    fs.rmSync(outcome.rootfs, { recursive: true, force: true });
    outcome = await attempt('chroot');
  }
  assert.ok(fs.existsSync(path.join(outcome.results, 'done')), `the ${name} run did not finish; output:\n${outcome.log.slice(-4000)}`);
  return outcome;
}

/** Ports the host is free to lend: the container shares the host's network. */
async function portsEnv(): Promise<{ text: string; mgmt: number }> {
  const [mgmt, https, rtmp, srt, rtc] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  // The rootfs shares the host's network: the stack's UDP ports (SRT, WebRTC) move off the defaults too.
  return { text: `MGMT_LISTEN=${mgmt}\nHTTPS_LISTEN=${https}\nRTMP_LISTEN=${rtmp}\nSRT_LISTEN=${srt}\nRTC_LISTEN=${rtc}\n`, mgmt };
}

function resultsReader(dir: string) {
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
  return { read, step: (name: string) => ({ rc: Number(read(`${name}.rc`).trim()), out: read(`${name}.out`) }) };
}

describe('heavy: installer in a Debian rootfs', function () {
  this.timeout(2 * RUN_TIMEOUT_MS + 10 * 60_000);
  let artifacts = '';
  const rootfsDirs: string[] = [];

  before(async function () {
    if (!HEAVY) return this.skip();
    run('bash', [path.join(PACKAGING_DIR, 'make-rootfs.sh'), ROOTFS_TAR]);
    fs.mkdirSync(path.join(APT_CACHE, 'partial'), { recursive: true });
    artifacts = tempDir('srs-stack-heavy-');
    await buildReleaseInto(artifacts);
    const pack = (await import(pathToFileURL(path.join(ROOT, 'plugin', 'pack.mjs')).href)) as {
      packPlugin(v: string, out: string): Promise<string>;
    };
    await pack.packPlugin('bt', artifacts);
  });
  after(() => {
    for (const dir of [...rootfsDirs, artifacts]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('script install: curl|bash bootstrap, refusal, upgrade, uninstall', () => {
    let r: ReturnType<typeof resultsReader>;
    let mgmtPort = 0;

    before(async function () {
      if (!HEAVY) return this.skip();
      const started = Date.now();
      const outcome = await runScenario('script', async (rootfs, testDir) => {
        for (const file of ['linux-srs_stack.tar.gz', 'install.sh']) fs.copyFileSync(path.join(artifacts, file), path.join(testDir, file));
        fs.copyFileSync(path.join(PACKAGING_DIR, 'rootfs-inside.sh'), path.join(testDir, 'inside.sh'));
        const ports = await portsEnv();
        mgmtPort = ports.mgmt;
        fs.mkdirSync(path.join(rootfs, 'data', 'config'), { recursive: true });
        fs.writeFileSync(path.join(rootfs, 'data', 'config', '.env'), ports.text);
      });
      rootfsDirs.push(outcome.rootfs);
      r = resultsReader(outcome.results);
      console.log(
        `      ${outcome.mode}: ${Math.round((Date.now() - started) / 1000)} s in total, first install ${r.read('install1.seconds').trim()} s`,
      );
    });

    it('installs through the curl|bash bootstrap and the service answers mgmt/versions', () => {
      const install = r.step('install1');
      assert.equal(install.rc, 0, install.out.slice(-3000));
      assert.match(install.out, /\[1\/8\] Checking the system/);
      assert.match(install.out, /\[8\/8\] Waiting for SRS Stack to answer/);
      assert.match(install.out, /Install OK/);
      assert.equal(r.step('active1').out.trim(), 'active');
      assert.equal(r.step('enabled1').out.trim(), 'enabled');
      assert.deepEqual(JSON.parse(r.step('versions1').out).data, { version: VERSION });
    });

    it("installs the OpenSSL libsrt of the system's release for SRT", () => {
      assert.match(r.step('libsrt').out, /^libsrt1\.5-openssl install ok installed$/m);
    });

    it('installs the x64 and arm64 binaries of koffi and node-datachannel, and the bundled koffi loads libsrt here', () => {
      const srt = r.step('addon_srt');
      assert.equal(srt.rc, 0, srt.out);
      assert.match(srt.out, /^loaded libsrt\S* \d+\.\d+\.\d+$/m);
      const binaries = r.step('addon_binaries').out;
      assert.match(binaries, /\/@koromix\/koffi-linux-x64\/linux_x64\/koffi\.node$/m);
      assert.match(binaries, /\/@koromix\/koffi-linux-arm64\/linux_arm64\/koffi\.node$/m);
      assert.match(binaries, /\/@node-datachannel\/linux-x64-gnu\/node_datachannel\.node$/m);
      assert.match(binaries, /\/@node-datachannel\/linux-arm64-gnu\/node_datachannel\.node$/m);
    });

    it('lists the ports to open, the UDP ones of SRT and WebRTC included (no ufw here)', () => {
      const install = r.step('install1').out;
      assert.match(install, /Firewall: the ports of RTMP, SRT \(UDP\), WebRTC \(UDP\) and the console/);
      const list = /Open these ports in your firewall and cloud security group: (.*)/.exec(install)?.[1] ?? '';
      assert.ok(list.includes(`${mgmtPort}/tcp`), list);
      assert.equal(list.match(/\d+\/udp/g)?.length, 2, list);
      assert.ok(list.includes(`${r.read('srt_port').trim()}/udp`), list);
    });

    it('gives panels the /etc/init.d/srs_stack wrapper and the srs-stack command', () => {
      assert.equal(r.step('initd_status').rc, 0, r.step('initd_status').out);
      assert.match(r.step('initd_status').out, /srs-stack\.service/);
      assert.match(r.step('cli_help').out, /usage: srs-stack reset-password/);
    });

    it("keeps the distribution's nginx and redis services from running", () => {
      assert.equal(r.step('stock_nginx').out.trim(), 'disabled');
      assert.notEqual(r.step('stock_redis').out.trim(), 'active');
    });

    it('refuses a console port another process holds, naming it', () => {
      const refused = r.step('port_taken');
      assert.equal(refused.rc, 1);
      assert.match(refused.out, new RegExp(`Port ${mgmtPort}/tcp is already used by node \\(pid \\d+\\)`));
    });

    it('refuses an SRT port (UDP) another process holds, naming it', () => {
      const refused = r.step('udp_taken');
      assert.equal(refused.rc, 1);
      assert.match(refused.out, new RegExp(`Port ${r.read('srt_port').trim()}/udp is already used by node \\(pid \\d+\\)`));
    });

    it('upgrades in place while running, keeping /data and the .env settings', () => {
      const upgrade = r.step('install2');
      assert.equal(upgrade.rc, 0, upgrade.out.slice(-3000));
      assert.match(upgrade.out, new RegExp(`从 ${VERSION} 升级到 ${VERSION}，/data 保留不变`));
      assert.match(upgrade.out, new RegExp(`端口 ${mgmtPort}/tcp 由正在运行的 SRS Stack 使用`));
      assert.equal(r.step('active2').out.trim(), 'active');
      assert.equal(JSON.parse(r.step('versions2').out).code, 0);
      const env = r.read('env2');
      assert.match(env, new RegExp(`^MGMT_LISTEN=${mgmtPort}$`, 'm'));
      assert.match(env, /^REACT_APP_LOCALE=en$/m, 'the first run chose en; the zh upgrade must not override it');
      assert.match(env, /^CLOUD=BIN$/m);
    });

    it('edits sysctl.conf idempotently', () => {
      const first = r.read('sysctl1.conf');
      assert.equal(r.read('sysctl2.conf'), first);
      for (const key of ['rmem_max', 'rmem_default', 'wmem_max', 'wmem_default']) {
        assert.equal(first.match(new RegExp(`^net\\.core\\.${key} = 16777216$`, 'gm'))?.length, 1, key);
      }
    });

    it('uninstalls the service and program but keeps /data', () => {
      assert.equal(r.step('uninstall').rc, 0, r.step('uninstall').out);
      assert.notEqual(r.step('active3').out.trim(), 'active');
      for (const gone of ['unit_gone', 'initd_gone', 'home_gone']) assert.equal(r.step(gone).rc, 0, gone);
      assert.equal(r.step('data_kept').out.trim(), 'recorded before the upgrade');
      assert.notEqual(r.step('versions3').rc, 0, 'nothing answers after uninstall');
    });
  });

  describe('BT panel: plugin zip imported, installed from the page, removed', () => {
    let r: ReturnType<typeof resultsReader>;
    const PANEL_NGINX_INIT =
      '#!/bin/sh\n### BEGIN INIT INFO\n# Provides: nginx\n# Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n### END INIT INFO\n# The panel own nginx control script\necho "panel nginx $1"\n';

    before(async function () {
      if (!HEAVY) return this.skip();
      const started = Date.now();
      const outcome = await runScenario('panel', async (rootfs, testDir) => {
        fs.copyFileSync(path.join(PACKAGING_DIR, 'rootfs-panel-inside.sh'), path.join(testDir, 'inside.sh'));
        // The panel's import: unzip into plugin/, then chmod -R 600 on the plugin's files.
        const plugins = path.join(rootfs, 'www/server/panel/plugin');
        fs.mkdirSync(plugins, { recursive: true });
        run('unzip', ['-q', path.join(artifacts, 'bt-srs_stack.zip'), '-d', plugins]);
        // Only the registry the test machine reaches (the zh default is a mirror in China).
        fs.appendFileSync(path.join(plugins, 'srs_stack', 'config'), 'REGISTRY=https://registry.npmjs.org\n');
        run('chmod', ['-R', '600', path.join(plugins, 'srs_stack')]);
        fs.writeFileSync(path.join(rootfs, 'etc/init.d/nginx'), PANEL_NGINX_INIT, { mode: 0o755 });
        fs.mkdirSync(path.join(rootfs, 'data', 'config'), { recursive: true });
        fs.writeFileSync(path.join(rootfs, 'data', 'config', '.env'), (await portsEnv()).text);
      });
      rootfsDirs.push(outcome.rootfs);
      r = resultsReader(outcome.results);
      console.log(`      ${outcome.mode}: ${Math.round((Date.now() - started) / 1000)} s in total`);
    });

    it('install.sh install marks the plugin ready', () => {
      assert.equal(r.step('plugin_install').rc, 0, r.step('plugin_install').out);
      assert.match(r.step('plugin_install').out, /Execute OK/);
      assert.equal(r.step('bt_ready').rc, 0);
    });

    it("the page's install (setup.sh) installs and starts the stack, in Chinese, as CLOUD=BT", () => {
      const setup = r.step('plugin_setup');
      assert.equal(setup.rc, 0, setup.out.slice(-3000));
      assert.match(setup.out, /安装成功/);
      assert.equal(r.step('r0_absent').rc, 0, 'no failure record for the page');
      assert.equal(r.step('active1').out.trim(), 'active');
      assert.deepEqual(JSON.parse(r.step('versions1').out).data, { version: VERSION });
      assert.match(r.read('env'), /^CLOUD=BT$/m);
      assert.match(r.read('env'), /^REACT_APP_LOCALE=zh$/m);
      assert.match(r.step('app_modes').out, /^755 \/usr\/local\/srs-stack\/app\n644 /, 'panel-imported 600 files are installed readable');
    });

    it("leaves the panel's nginx in charge: its init script kept, Debian's nginx unit diverted", () => {
      assert.equal(r.step('panel_initd').out, PANEL_NGINX_INIT);
      assert.match(r.step('diverted').out, /local diversion of \/lib\/systemd\/system\/nginx\.service to .*nginx\.service\.distrib/);
    });

    it("the panel's service buttons work through /etc/init.d/srs_stack", () => {
      assert.equal(r.step('initd_stop').rc, 0, r.step('initd_stop').out);
      assert.notEqual(r.step('active_stopped').out.trim(), 'active');
      assert.equal(r.step('initd_start').rc, 0, r.step('initd_start').out);
    });

    it('install.sh uninstall removes the stack and the plugin, keeping /data', () => {
      assert.equal(r.step('plugin_uninstall').rc, 0, r.step('plugin_uninstall').out);
      for (const gone of ['plugin_gone', 'unit_gone', 'data_kept']) assert.equal(r.step(gone).rc, 0, gone);
    });
  });
});
