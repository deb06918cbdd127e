// SRS Stack installer (zx). Started by setup.sh with a Node.js 20+; `install` (the default) is also
// the upgrade, `uninstall` removes the program and the service but keeps /data. The rules it
// applies are pure functions in lib/rules.mjs; this file only performs the steps, in order, and
// says what it is doing.
import { $, fs, path, sleep } from 'zx';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { messagesFor } from './lib/messages.mjs';
import {
  DIVERTED_NGINX_UNITS,
  FRONT_NGINX_PACKAGES,
  SRT_PACKAGES,
  SUPPORTED_SYSTEMS,
  SYSCTL_SETTINGS,
  SYSTEM_PACKAGES,
  boundUdpInodes,
  checkOs,
  chooseSrtPackage,
  editSysctl,
  ensureEnvKeys,
  firewallPorts,
  isOurs,
  listeningInodes,
  parseOptions,
  setEnvKeys,
  stockServicesToDisable,
  ufwActive,
} from './lib/rules.mjs';

const SRS_HOME = '/usr/local/srs-stack';
const APP_DIR = path.join(SRS_HOME, 'app');
const DATA_DIR = '/data';
const UNIT_FILE = '/usr/lib/systemd/system/srs-stack.service';
const INIT_SCRIPT = '/etc/init.d/srs_stack';
const CLI_LINK = '/usr/local/bin/srs-stack';
const POLICY_RC = '/usr/sbin/policy-rc.d';
const PANEL_DIR = '/www/server/panel';
const READY_TIMEOUT_S = 120;

const INSTALLER_DIR = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE_ROOT = path.dirname(INSTALLER_DIR);
const FILES = path.join(INSTALLER_DIR, 'files');
/** What a release holds and the installed app needs (tests and benches stay out of dist/server). */
const APP_ENTRIES = [
  'dist/server',
  'views',
  'node_modules',
  'package.json',
  'package-lock.json',
  'installer',
  'README.md',
  'LICENSE',
  'docs',
];

class Refusal extends Error {}

let t = messagesFor('en');
let stepNo = 0;
let stepCount = 0;
const step = (key) => console.log(`\n[${++stepNo}/${stepCount}] ${t(key)}`);
const info = (text) => console.log(`    ${text}`);

async function main() {
  const options = parseOptions(process.argv.slice(2), process.env);
  t = messagesFor(options.language);
  if (options.help) {
    process.stdout.write(await fs.readFile(path.join(INSTALLER_DIR, `usage.${options.language}.txt`), 'utf8'));
    return;
  }
  if (process.getuid?.() !== 0) throw new Refusal(t('notRoot'));
  if (options.command === 'uninstall') return uninstall();
  return install(options);
}

async function install(options) {
  stepCount = 7 + (options.frontNginx ? 1 : 0) + (options.start ? 1 : 0);
  step('stepCheck');
  const config = await checkSystem(options);
  // An edge (--edge now, or EDGE_ORIGIN kept from an earlier install) serves HTTP and RTMP only.
  const edge = options.edge ?? config.edge?.origin ?? null;

  step('stepPackages');
  await installPackages(options.frontNginx ? [...SYSTEM_PACKAGES, ...FRONT_NGINX_PACKAGES] : SYSTEM_PACKAGES);

  step('stepApp');
  await installApp();

  step('stepData');
  await prepareData(options);

  step('stepSysctl');
  await applySysctl();

  if (options.frontNginx) {
    step('stepFront');
    await setupFrontNginx();
  }

  step('stepFirewall');
  await openFirewall(firewallPorts(config, { frontNginx: options.frontNginx, edge: Boolean(edge) }));

  step('stepService');
  await installService(options.start);
  if (!options.start) {
    info(t('enabledNotStarted'));
    return;
  }

  step('stepWait');
  await waitUntilAnswering(config.mgmtListen);
  if (edge) console.log(`\n${t('doneEdge', consoleUrl(config.mgmtListen).replace(/\/mgmt$/, ''), edge)}`);
  else console.log(`\n${t('done', consoleUrl(config.mgmtListen))}`);
}

async function checkSystem(options) {
  if (!(await $`systemctl --version`.nothrow()).ok) throw new Refusal(t('noSystemd'));
  const verdict = checkOs(await fs.readFile('/etc/os-release', 'utf8').catch(() => ''));
  if (!verdict.ok) {
    const key = { version: 'osVersion', rhel: 'osRhel', unknown: 'osUnknown' }[verdict.reason];
    throw new Refusal(t(key, verdict.name, SUPPORTED_SYSTEMS));
  }
  info(t('osOk', verdict.name));
  const config = await readStackConfig();
  // The stack's own ports: TCP for the console, HTTPS and RTMP; UDP for WebRTC and SRT.
  for (const { port, protocol } of firewallPorts(config, { edge: Boolean(options.edge ?? config.edge) })) {
    const holders = await portHolders(port, protocol);
    const foreign = holders.filter((h) => !h.ours);
    if (foreign.length) throw new Refusal(t('portTaken', `${port}/${protocol}`, foreign.map((h) => `${h.comm} (pid ${h.pid})`).join(', ')));
    if (holders.length) info(t('portOurs', `${port}/${protocol}`));
  }
  return config;
}

/** The ports the stack will use, read the way the stack reads them (its own config module). */
async function readStackConfig() {
  const configModule = path.join(PACKAGE_ROOT, 'dist', 'server', 'config.js');
  if (!(await fs.pathExists(configModule))) throw new Refusal(t('notRelease', PACKAGE_ROOT));
  const { loadConfig, ConfigError } = await import(pathToFileURL(configModule).href);
  try {
    return loadConfig({ DATA_DIR });
  } catch (err) {
    if (err instanceof ConfigError) throw new Refusal(t('badConfig', err.problems.join('; ')));
    throw err;
  }
}

/** Processes listening on a TCP port (or bound to a UDP one), found through /proc (no ss/netstat needed). */
async function portHolders(port, protocol = 'tcp') {
  const inodes = new Set();
  const sockets = protocol === 'udp' ? boundUdpInodes : listeningInodes;
  for (const table of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    const text = await fs.readFile(table, 'utf8').catch(() => '');
    for (const inode of sockets(text, port)) inodes.add(inode);
  }
  if (!inodes.size) return [];
  const holders = [];
  for (const pid of (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const comm = (await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
        const cgroup = await fs.readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
        holders.push({ pid: Number(pid), comm, ours: isOurs(cgroup, await ancestorCmdlines(pid)) });
        break;
      }
    }
  }
  // A listener we cannot attribute (another namespace) still occupies the port.
  return holders.length ? holders : [{ pid: 0, comm: 'another process', ours: false }];
}

async function ancestorCmdlines(pid) {
  const cmdlines = [];
  for (let current = pid; current && current !== '0' && cmdlines.length < 16;) {
    cmdlines.push(await fs.readFile(`/proc/${current}/cmdline`, 'utf8').catch(() => ''));
    const stat = await fs.readFile(`/proc/${current}/stat`, 'utf8').catch(() => '');
    current = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  }
  return cmdlines;
}

async function dpkgInstalled(pkg) {
  const out = await $`dpkg-query -W -f=${'${Status}'} ${pkg}`.nothrow().quiet();
  return out.stdout.includes('install ok installed');
}

async function installPackages(packages) {
  const missing = [];
  for (const pkg of packages) if (!(await dpkgInstalled(pkg))) missing.push(pkg);
  let srtPresent = null;
  for (const pkg of SRT_PACKAGES) if (!srtPresent && (await dpkgInstalled(pkg))) srtPresent = pkg;
  const present = [...packages.filter((pkg) => !missing.includes(pkg)), ...(srtPresent ? [srtPresent] : [])];
  if (present.length) info(t('packagesPresent', present.join(' ')));
  if (!missing.length && srtPresent) return;

  const panelHost = await fs.pathExists(PANEL_DIR);
  if (panelHost && missing.includes('nginx-core') && !(await dpkgInstalled('nginx-common'))) {
    // The panel's /etc/init.d/nginx must keep control of its nginx at boot; Debian's native
    // nginx.service would shadow it, so it is diverted to nginx.service.distrib.
    for (const unit of DIVERTED_NGINX_UNITS) await $`dpkg-divert --local --rename --add ${unit}`.quiet();
  }
  // policy-rc.d forbids package scripts from starting services while we install.
  const ownPolicy = !(await fs.pathExists(POLICY_RC));
  if (ownPolicy)
    await fs.writeFile(POLICY_RC, '#!/bin/sh\n# SRS Stack installer: no service starts during install\nexit 101\n', { mode: 0o755 });
  const apt = $({ stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    await apt`apt-get update -q`;
    if (!srtPresent) {
      // The libsrt of this release (1.5 on Debian 12+ / Ubuntu 24.04, 1.4 on Debian 11 / Ubuntu 22.04).
      const known = [];
      for (const pkg of SRT_PACKAGES) if (await aptKnows(pkg)) known.push(pkg);
      const srt = chooseSrtPackage(known);
      if (srt) missing.push(srt);
      else info(t('srtMissing', SRT_PACKAGES.join(' / ')));
    }
    if (!missing.length) return;
    info(t('packagesMissing', missing.join(' ')));
    // confold: a panel's own /etc/init.d/nginx is kept if Debian's package brings one too.
    await apt`apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ${missing}`;
  } finally {
    if (ownPolicy) await fs.remove(POLICY_RC);
  }
  for (const service of stockServicesToDisable(missing, panelHost)) {
    await $`systemctl disable --now ${service}`.nothrow().quiet();
    info(t('stockDisabled', service));
  }
}

/** apt has a candidate version of `pkg` (after apt-get update). */
async function aptKnows(pkg) {
  const out = await $`apt-cache policy ${pkg}`.nothrow().quiet();
  return out.ok && /Candidate:\s*(?!\(none\))\S/.test(out.stdout);
}

async function installedVersion() {
  try {
    return (await fs.readJson(path.join(APP_DIR, 'package.json'))).version;
  } catch {
    return null;
  }
}

/** Copies the release next to the running app, then swaps it in: an upgrade is one rename. */
async function installApp() {
  const version = (await fs.readJson(path.join(PACKAGE_ROOT, 'package.json'))).version;
  const previous = await installedVersion();
  info(previous ? t('upgrading', previous, version) : t('installing', version));
  const staging = `${APP_DIR}.new`;
  await fs.remove(staging);
  for (const entry of APP_ENTRIES) {
    const from = path.join(PACKAGE_ROOT, entry);
    if (await fs.pathExists(from)) await fs.copy(from, path.join(staging, entry), { dereference: true });
  }
  // Panels import plugin files with mode 600; the installed program is world-readable as usual.
  await $`chmod -R u=rwX,go=rX ${staging}`;
  if (await fs.pathExists(APP_DIR)) await fs.move(APP_DIR, `${APP_DIR}.old`, { overwrite: true });
  await fs.move(staging, APP_DIR);
  await fs.remove(`${APP_DIR}.old`);

  // The Node.js that runs this installer (chosen by setup.sh) is the one the service runs.
  await fs.ensureDir(path.join(SRS_HOME, 'bin'));
  await replaceSymlink(process.execPath, path.join(SRS_HOME, 'bin', 'node'));
  await fs.copy(path.join(FILES, 'srs-stack.cli'), path.join(SRS_HOME, 'bin', 'srs-stack'));
  await fs.chmod(path.join(SRS_HOME, 'bin', 'srs-stack'), 0o755);
  await replaceSymlink(path.join(SRS_HOME, 'bin', 'srs-stack'), CLI_LINK);
}

async function replaceSymlink(target, link) {
  await fs.remove(link);
  await fs.ensureSymlink(target, link);
}

async function prepareData(options) {
  const configDir = path.join(DATA_DIR, 'config');
  await fs.ensureDir(configDir);
  await fs.chmod(configDir, 0o700);
  const envFile = path.join(configDir, '.env');
  const before = await fs.readFile(envFile, 'utf8').catch(() => '');
  // Only keys the user has not set: an upgrade never overrides their choices.
  let after = ensureEnvKeys(before, { CLOUD: options.cloud, REACT_APP_LOCALE: options.language });
  // --edge is an explicit choice: it replaces an earlier origin (docs/architecture.md#edges).
  if (options.edge) {
    after = setEnvKeys(after, { EDGE_ORIGIN: options.edge });
    info(t('edgeOrigin', options.edge));
  }
  if (after !== before) await fs.writeFile(envFile, after, { mode: 0o600 });
  info(envFile);
}

async function applySysctl() {
  // Debian 13+ has no /etc/sysctl.conf; elsewhere it is read last, so an edit there wins.
  const file = (await fs.pathExists('/etc/sysctl.conf')) ? '/etc/sysctl.conf' : '/etc/sysctl.d/90-srs-stack.conf';
  const before = await fs.readFile(file, 'utf8').catch(() => '');
  const after = editSysctl(before);
  if (after !== before) await fs.writeFile(file, after);
  info(file);
  const live = await $`sysctl -q -w ${SYSCTL_SETTINGS.map(([key, value]) => `${key}=${value}`)}`.nothrow().quiet();
  if (!live.ok) info(t('sysctlLive'));
}

async function setupFrontNginx() {
  await fs.copy(path.join(FILES, 'front-nginx.conf'), '/etc/nginx/sites-available/srs-stack');
  await replaceSymlink('/etc/nginx/sites-available/srs-stack', '/etc/nginx/sites-enabled/srs-stack');
  await fs.remove('/etc/nginx/sites-enabled/default');
  // modules-enabled is the only main-context include of Debian's nginx.conf; 99 loads after the module.
  await fs.copy(path.join(FILES, 'front-nginx-stream.conf'), '/etc/nginx/modules-enabled/99-srs-stack-stream.conf');
  await $`nginx -t`.quiet();
  await $`systemctl enable nginx`.quiet();
  await $`systemctl restart nginx`.nothrow().quiet();
}

/**
 * Opens the stack's ports where this host runs ufw (not on a panel: the plugin opens them through
 * the panel, which owns the firewall there), and always lists them for the cloud security group.
 */
async function openFirewall(ports) {
  const list = ports.map(({ port, protocol }) => `${port}/${protocol}`).join(' ');
  const panelHost = await fs.pathExists(PANEL_DIR);
  const ufw = !panelHost && (await $`ufw status`.nothrow().quiet());
  if (ufw && ufw.ok && ufwActive(ufw.stdout)) {
    for (const { port, protocol, what } of ports) await $`ufw allow ${`${port}/${protocol}`} comment ${`SRS Stack ${what}`}`.quiet();
    info(t('firewallOpened', list));
  } else {
    info(t(panelHost ? 'firewallPanel' : 'firewallHint', list));
  }
}

async function installService(start) {
  await fs.copy(path.join(FILES, 'srs-stack.service'), UNIT_FILE);
  await fs.copy(path.join(FILES, 'srs_stack.init'), INIT_SCRIPT);
  await fs.chmod(INIT_SCRIPT, 0o755);
  info(`${UNIT_FILE}, ${INIT_SCRIPT}`);
  await $`systemctl daemon-reload`;
  await $`systemctl enable srs-stack.service`.quiet();
  if (start) await $`systemctl restart srs-stack.service`;
}

async function waitUntilAnswering(port) {
  const url = `http://127.0.0.1:${port}/terraform/v1/mgmt/versions`;
  const started = Date.now();
  let waited = false;
  while (Date.now() - started < READY_TIMEOUT_S * 1000) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      const body = await res.json();
      if (body.code === 0) {
        if (waited) process.stdout.write('\n');
        info(`${url} → ${body.data?.version}`);
        return;
      }
    } catch {
      // Not listening yet.
    }
    process.stdout.write(waited ? '.' : '    .');
    waited = true;
    await sleep(1000);
  }
  throw new Error(t('notAnswering', READY_TIMEOUT_S));
}

function consoleUrl(port) {
  const addresses = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal);
  return `http://${addresses[0]?.address ?? '127.0.0.1'}:${port}/mgmt`;
}

async function uninstall() {
  stepCount = 1;
  step('uninstallStep');
  if (await fs.pathExists(UNIT_FILE)) {
    await $`systemctl disable --now srs-stack.service`.nothrow().quiet();
    await fs.remove(UNIT_FILE);
    await $`systemctl daemon-reload`.nothrow();
    await $`systemctl reset-failed srs-stack.service`.nothrow().quiet();
  }
  for (const file of [INIT_SCRIPT, CLI_LINK]) await fs.remove(file);
  const frontFiles = [
    '/etc/nginx/sites-enabled/srs-stack',
    '/etc/nginx/sites-available/srs-stack',
    '/etc/nginx/modules-enabled/99-srs-stack-stream.conf',
  ];
  if (await fs.pathExists(frontFiles[0])) {
    // The front nginx of a cloud image would otherwise include files removed below.
    for (const file of frontFiles) await fs.remove(file);
    await $`systemctl reload nginx`.nothrow().quiet();
  }
  await fs.remove(SRS_HOME);
  console.log(`\n${t('uninstalled')}`);
}

main().catch((err) => {
  if (err instanceof Refusal) console.error(`\n${err.message}`);
  else console.error(`\n${t('failed', err.message ?? String(err))}`);
  process.exit(1);
});
