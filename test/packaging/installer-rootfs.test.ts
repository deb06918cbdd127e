// HEAVY, opt-in (SRS_STACK_HEAVY_TESTS=1): the real installer in a real Debian bookworm rootfs
// booted with systemd-nspawn. It downloads Debian packages and the Node.js runtime, so it takes
// minutes and is kept out of the default run (README "Tests"). The rootfs tarball and the apt
// archives are cached under /var/cache/srs-stack-test/ so reruns are faster.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../helpers/stack.js';
import { PACKAGING_DIR, ROOT, buildReleaseInto } from './helpers.js';

const HEAVY = process.env.SRS_STACK_HEAVY_TESTS === '1';
const CACHE = '/var/cache/srs-stack-test';
const ROOTFS_TAR = path.join(CACHE, 'bookworm-rootfs.tar');
const APT_CACHE = path.join(CACHE, 'apt-archives');
const BOOT_TIMEOUT_MS = 25 * 60_000;

function run(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { stdio: 'inherit' });
  assert.equal(res.status, 0, `${cmd} ${args.join(' ')} failed`);
}

/** Boots the rootfs; the oneshot unit runs rootfs-inside.sh and powers off. Returns the console log. */
function boot(rootfs: string): Promise<string> {
  return new Promise((resolve) => {
    const args = ['--register=no', '--keep-unit', '-q', '-b', '-D', rootfs, `--bind=${APT_CACHE}:/var/cache/apt/archives`];
    const child = spawn('systemd-nspawn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), BOOT_TIMEOUT_MS);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(log);
    });
  });
}

describe('installer in a Debian rootfs under systemd-nspawn (heavy)', function () {
  this.timeout(BOOT_TIMEOUT_MS + 10 * 60_000);
  let rootfs = '';
  let results = '';
  let mgmtPort = 0;
  const read = (name: string) => fs.readFileSync(path.join(results, name), 'utf8');
  const step = (name: string) => ({ rc: Number(read(`${name}.rc`).trim()), out: read(`${name}.out`) });

  before(async function () {
    if (!HEAVY) return this.skip();
    const started = Date.now();
    run('bash', [path.join(PACKAGING_DIR, 'make-rootfs.sh'), ROOTFS_TAR]);
    fs.mkdirSync(path.join(APT_CACHE, 'partial'), { recursive: true });
    rootfs = fs.mkdtempSync('/var/tmp/srs-stack-rootfs-test.');
    run('tar', ['-xf', ROOTFS_TAR, '-C', rootfs]);
    // The container reaches the registries through the host's network, so it trusts what the host
    // trusts (a TLS-inspecting egress proxy's CA, for instance).
    for (const trust of ['/usr/local/share/ca-certificates', '/etc/ssl/certs/ca-certificates.crt']) {
      if (fs.existsSync(trust)) fs.cpSync(trust, path.join(rootfs, trust), { recursive: true });
    }

    const testDir = path.join(rootfs, 'root', 'srs-test');
    await buildReleaseInto(testDir);
    fs.copyFileSync(path.join(PACKAGING_DIR, 'rootfs-inside.sh'), path.join(testDir, 'inside.sh'));
    // The host's network is shared with the container: ports the host is free to lend.
    mgmtPort = await freePort();
    const [https, rtmp] = [await freePort(), await freePort()];
    fs.mkdirSync(path.join(rootfs, 'data', 'config'), { recursive: true });
    fs.writeFileSync(path.join(rootfs, 'data', 'config', '.env'), `MGMT_LISTEN=${mgmtPort}\nHTTPS_LISTEN=${https}\nRTMP_LISTEN=${rtmp}\n`);
    const unit = path.join(rootfs, 'etc', 'systemd', 'system', 'srs-stack-test.service');
    fs.writeFileSync(
      unit,
      '[Unit]\nDescription=SRS Stack installer test\n[Service]\nType=oneshot\nExecStart=/bin/bash /root/srs-test/inside.sh\n' +
        'StandardOutput=journal+console\nStandardError=journal+console\nTimeoutStartSec=infinity\n[Install]\nWantedBy=multi-user.target\n',
    );
    fs.mkdirSync(path.join(rootfs, 'etc', 'systemd', 'system', 'multi-user.target.wants'), { recursive: true });
    fs.symlinkSync(
      unit.replace(rootfs, ''),
      path.join(rootfs, 'etc', 'systemd', 'system', 'multi-user.target.wants', 'srs-stack-test.service'),
    );

    const log = await boot(rootfs);
    results = path.join(testDir, 'results');
    fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, '.tmp', 'heavy-console.log'), log);
    console.log(
      `      heavy run: ${Math.round((Date.now() - started) / 1000)} s in total, first install ${read('install1.seconds').trim()} s`,
    );
    assert.ok(fs.existsSync(path.join(results, 'done')), `the run inside the container did not finish; console:\n${log.slice(-4000)}`);
  });

  after(() => {
    if (rootfs) fs.rmSync(rootfs, { recursive: true, force: true });
  });

  it('installs through the curl|bash bootstrap and the service answers mgmt/versions', () => {
    const install = step('install1');
    assert.equal(install.rc, 0, install.out.slice(-3000));
    assert.match(install.out, /\[1\/7\] Checking the system/);
    assert.match(install.out, /\[7\/7\] Waiting for SRS Stack to answer/);
    assert.match(install.out, /Install OK/);
    assert.equal(step('active1').out.trim(), 'active');
    assert.equal(step('enabled1').out.trim(), 'enabled');
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(JSON.parse(step('versions1').out).data, { version });
  });

  it('gives panels the /etc/init.d/srs_stack wrapper and the srs-stack command', () => {
    assert.equal(step('initd_status').rc, 0, step('initd_status').out);
    assert.match(step('initd_status').out, /srs-stack\.service/);
    assert.match(step('cli_help').out, /usage: srs-stack reset-password/);
  });

  it("keeps the distribution's nginx and redis services from running", () => {
    assert.equal(step('stock_nginx').out.trim(), 'disabled');
    assert.notEqual(step('stock_redis').out.trim(), 'active');
  });

  it('refuses a console port another process holds, naming it', () => {
    const refused = step('port_taken');
    assert.equal(refused.rc, 1);
    assert.match(refused.out, new RegExp(`Port ${mgmtPort}/tcp is already used by node \\(pid \\d+\\)`));
  });

  it('upgrades in place while running, keeping /data and the .env settings', () => {
    const upgrade = step('install2');
    assert.equal(upgrade.rc, 0, upgrade.out.slice(-3000));
    assert.match(upgrade.out, /从 1\.0\.0 升级到|升级到/);
    assert.match(upgrade.out, new RegExp(`端口 ${mgmtPort}/tcp 由正在运行的 SRS Stack 使用`));
    assert.equal(step('active2').out.trim(), 'active');
    assert.equal(JSON.parse(step('versions2').out).code, 0);
    const env = read('env2');
    assert.match(env, new RegExp(`^MGMT_LISTEN=${mgmtPort}$`, 'm'));
    assert.match(env, /^REACT_APP_LOCALE=en$/m, 'the first run chose en; the zh upgrade must not override it');
  });

  it('edits sysctl.conf idempotently', () => {
    const first = read('sysctl1.conf');
    assert.equal(read('sysctl2.conf'), first);
    for (const key of ['rmem_max', 'rmem_default', 'wmem_max', 'wmem_default']) {
      assert.equal(first.match(new RegExp(`^net\\.core\\.${key} = 16777216$`, 'gm'))?.length, 1, key);
    }
  });

  it('uninstalls the service and program but keeps /data', () => {
    assert.equal(step('uninstall').rc, 0, step('uninstall').out);
    assert.notEqual(step('active3').out.trim(), 'active');
    for (const gone of ['unit_gone', 'initd_gone', 'home_gone']) assert.equal(step(gone).rc, 0, gone);
    assert.equal(step('data_kept').out.trim(), 'recorded before the upgrade');
    assert.notEqual(step('versions3').rc, 0, 'nothing answers after uninstall');
  });
});
