// `npm run release` (after `npm run build`): builds release/linux-srs_stack.tar.gz, the tarball the
// curl|bash bootstrap downloads, plus release/install.sh (that bootstrap, pointing at the tarball)
// and release/SHA256SUMS. The plugin zips embed the same staged tree (plugin/pack.mjs).
//
// node_modules is bundled (production dependencies only): target machines then need no npm client
// (Debian's pulls in hundreds of packages) and no registry round-trips at install time, which keeps
// installs fast where the registry is slow (FAQ "slow installs").
//
// One tarball serves x64 and arm64 Linux. Native addons (koffi for SRT, node-datachannel for WebRTC)
// ship their binaries as per-platform optional packages, and `npm ci` installs only the build host's;
// the release carries the linux-x64 and linux-arm64 (glibc) ones of every such dependency instead,
// at the versions package-lock.json pins, fetched with `npm pack`, checked against the lockfile's
// integrity and cached under .tmp/release-addons/ (platformPackages, fetchPlatformPackages).
//
// The CLI run also builds the container image (Dockerfile) from that tarball with docker or podman,
// whichever is installed, and saves it as release/srs-stack-image.tar (`docker load -i` reads it);
// docs/container.md. buildRelease() builds it only when asked (the packaging tests call it often).
import { $, fs, path } from 'zx';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RELEASE_DIR = path.join(ROOT, 'release');
export const TARBALL_NAME = 'linux-srs_stack.tar.gz';
export const IMAGE_TAR_NAME = 'srs-stack-image.tar';
const DEFAULT_RELEASE_BASE = 'https://github.com/ossrs/srs-stack/releases/download';

/** Files of the installed app; the installer copies the same list (install.mjs APP_ENTRIES). */
const TOP_FILES = ['package.json', 'package-lock.json', 'README.md', 'LICENSE', 'docs'];
/** What runtime never reads: source maps and type declarations. */
const PRUNED = /(\.map|\.d\.ts|\.d\.mts|\.d\.cts)$/;

/** The machines the tarball runs on; a platform package goes in when it fits one of them. */
export const TARGETS = [
  { os: 'linux', cpu: 'x64', libc: 'glibc' },
  { os: 'linux', cpu: 'arm64', libc: 'glibc' },
];
/** Where fetched platform packages are kept between builds (verified again on every use). */
export const ADDON_CACHE = path.join(ROOT, '.tmp', 'release-addons');

/** Production packages per the lockfile (paths like node_modules/a/node_modules/b). */
export function productionPackagePaths(lock) {
  return Object.entries(lock.packages ?? {})
    .filter(([key, meta]) => key.startsWith('node_modules/') && !meta.dev && !meta.link)
    .map(([key]) => key);
}

/** A package.json os/cpu/libc list against one value, as npm reads it (absent: any; "!x": not x). */
function allows(list, value) {
  if (!list) return true;
  const values = [].concat(list);
  if (values.includes(`!${value}`)) return false;
  const positive = values.filter((v) => !v.startsWith('!'));
  return positive.length === 0 || positive.includes(value);
}

const fitsTarget = (meta, target) => allows(meta.os, target.os) && allows(meta.cpu, target.cpu) && allows(meta.libc, target.libc);
const targetName = (t) => `${t.os}-${t.cpu} (${t.libc})`;

/** The lockfile key a package `name` required from `fromKey` resolves to (Node's upward lookup). */
function resolveLockKey(lock, fromKey, name) {
  let base = fromKey;
  for (;;) {
    const key = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages?.[key]) return key;
    if (!base) return null;
    const at = base.lastIndexOf('/node_modules/');
    base = at < 0 ? '' : base.slice(0, at);
  }
}

/**
 * Production dependencies whose binaries come as per-platform optional packages (optional
 * dependencies with os/cpu in the lockfile), and those packages: `ship` are the ones that fit
 * TARGETS, `skip` the rest (other systems, musl, other CPUs). Throws when a dependency that has
 * Linux builds lacks one for a target: that tarball would not start there.
 */
export function platformPackages(lock) {
  const production = new Set(productionPackagePaths(lock));
  const ship = new Map();
  const skip = new Set();
  const parents = [];
  for (const parentKey of production) {
    const optional = Object.keys(lock.packages[parentKey].optionalDependencies ?? {});
    const children = optional
      .map((name) => resolveLockKey(lock, parentKey, name))
      .filter((key) => key && production.has(key) && (lock.packages[key].os || lock.packages[key].cpu));
    if (!children.length) continue;
    const fits = children.filter((key) => TARGETS.some((target) => fitsTarget(lock.packages[key], target)));
    for (const key of children) if (!fits.includes(key)) skip.add(key);
    // A dependency without any Linux build (fsevents and the like) is not needed on Linux.
    if (!fits.length) continue;
    for (const target of TARGETS) {
      if (!fits.some((key) => fitsTarget(lock.packages[key], target))) {
        throw new Error(
          `${parentKey.replace(/^.*node_modules\//, '')}: no optional package for ${targetName(target)} in package-lock.json`,
        );
      }
    }
    for (const key of fits) {
      const meta = lock.packages[key];
      ship.set(key, { key, name: key.replace(/^.*node_modules\//, ''), version: meta.version, integrity: meta.integrity });
    }
    parents.push(parentKey);
  }
  // A package that fits is shipped even when another parent would skip it.
  for (const key of ship.keys()) skip.delete(key);
  return { parents, ship: [...ship.values()], skip };
}

/** Whether `data` matches an SRI string (the strongest algorithm it names must match). */
export function matchesIntegrity(data, integrity) {
  const order = ['sha512', 'sha384', 'sha256', 'sha1'];
  const hashes = String(integrity ?? '')
    .split(/\s+/)
    .map((token) => /^(sha\d+)-([A-Za-z0-9+/=]+)/.exec(token))
    .filter((m) => m && order.includes(m[1]));
  if (!hashes.length) return false;
  const best = order.find((algo) => hashes.some((m) => m[1] === algo));
  const digest = crypto.createHash(best).update(data).digest('base64');
  return hashes.some((m) => m[1] === best && m[2] === digest);
}

const cacheFile = (pkg, dir) => path.join(dir, `${pkg.name.replace(/^@/, '').replace(/\//g, '-')}-${pkg.version}.tgz`);

/**
 * The tarball of each platform package in `list` ({name, version, integrity}): from the cache when
 * it still matches the lockfile's integrity, else fetched with `npm pack` (the project's npm
 * settings, so its registry) and checked before it enters the cache. Returns name -> file.
 */
export async function fetchPlatformPackages(list, { cacheDir = ADDON_CACHE } = {}) {
  const files = new Map();
  const missing = [];
  for (const pkg of list) {
    if (!pkg.integrity) throw new Error(`${pkg.name}@${pkg.version}: package-lock.json has no integrity for it`);
    const file = cacheFile(pkg, cacheDir);
    files.set(pkg.name, file);
    if ((await fs.pathExists(file)) && matchesIntegrity(await fs.readFile(file), pkg.integrity)) continue;
    missing.push(pkg);
  }
  if (!missing.length) return files;
  await fs.ensureDir(cacheDir);
  const scratch = await fs.mkdtemp(path.join(cacheDir, '.fetch-'));
  try {
    const specs = missing.map((pkg) => `${pkg.name}@${pkg.version}`);
    const out = await $({ cwd: ROOT, quiet: true })`npm pack ${specs} --pack-destination ${scratch} --ignore-scripts --json`;
    const packed = JSON.parse(out.stdout);
    for (const pkg of missing) {
      const entry = packed.find((p) => p.name === pkg.name && p.version === pkg.version);
      if (!entry) throw new Error(`npm pack ${pkg.name}@${pkg.version} gave no tarball`);
      const data = await fs.readFile(path.join(scratch, entry.filename));
      if (!matchesIntegrity(data, pkg.integrity)) {
        throw new Error(`${pkg.name}@${pkg.version}: the registry's tarball does not match package-lock.json's integrity`);
      }
      // Rename into place: a build that stops half-way leaves no partial file in the cache.
      await fs.move(path.join(scratch, entry.filename), files.get(pkg.name), { overwrite: true });
    }
  } finally {
    await fs.remove(scratch);
  }
  return files;
}

/** Unpacks an npm tarball (one top folder, usually package/) into `dest`, owned by whoever builds. */
async function unpackPackage(tgz, dest) {
  await fs.remove(dest);
  await fs.ensureDir(dest);
  await $`tar -xzf ${tgz} -C ${dest} --strip-components=1 --no-same-owner`;
  // Modes as npm would leave them: readable by all, executables stay executable.
  await $`chmod -R u+rwX,go+rX,go-w ${dest}`;
  const pruned = (await $`find ${dest} -type f`.quiet()).stdout.split('\n').filter((f) => f && PRUNED.test(f));
  for (const file of pruned) await fs.remove(file);
}

/** Copies what a release holds into the folder `stage` (emptied first). */
export async function stageRelease(stage) {
  if (!(await fs.pathExists(path.join(ROOT, 'dist', 'server', 'main.js')))) throw new Error('run npm run build first');
  await fs.remove(stage);
  await fs.ensureDir(stage);
  await fs.copy(path.join(ROOT, 'dist', 'server'), path.join(stage, 'dist', 'server'), { filter: (src) => !src.endsWith('.map') });
  await fs.copy(path.join(ROOT, 'views'), path.join(stage, 'views'));
  await fs.copy(path.join(ROOT, 'installer'), path.join(stage, 'installer'), {
    filter: (src) => !/(release|bootstrap)\.(mjs|sh)$/.test(src),
  });
  for (const file of TOP_FILES) {
    if (await fs.pathExists(path.join(ROOT, file))) await fs.copy(path.join(ROOT, file), path.join(stage, file));
  }
  const lock = await fs.readJson(path.join(ROOT, 'package-lock.json'));
  const platform = platformPackages(lock);
  const fromRegistry = new Set(platform.ship.map((pkg) => pkg.key));
  for (const rel of productionPackagePaths(lock)) {
    // Platform packages come from the registry below, whichever of them this machine has.
    if (fromRegistry.has(rel) || platform.skip.has(rel)) continue;
    const from = path.join(ROOT, rel);
    // Optional packages this machine skipped are in the lockfile but not on disk.
    if (await fs.pathExists(from)) {
      await fs.copy(from, path.join(stage, rel), {
        dereference: true,
        filter: (src) => !PRUNED.test(src) && !src.slice(from.length).includes(`${path.sep}node_modules${path.sep}`),
      });
    }
  }
  const tarballs = await fetchPlatformPackages(platform.ship);
  for (const pkg of platform.ship) await unpackPackage(tarballs.get(pkg.name), path.join(stage, pkg.key));
}

async function sha256(file) {
  return crypto
    .createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/**
 * docker when its daemon answers, else podman (daemonless); SRS_STACK_CONTAINER_TOOL names one
 * outright. null when neither can build. podman reads its engine settings (runtime, cgroup manager,
 * ulimits) from containers.conf, or from the file CONTAINERS_CONF names.
 */
export async function containerTool() {
  const wanted = process.env.SRS_STACK_CONTAINER_TOOL;
  if (wanted) return (await $`command -v ${wanted}`.nothrow().quiet()).ok ? wanted : null;
  // A docker client without a reachable daemon (common in CI containers) cannot build.
  if ((await $`docker info`.timeout('20s').nothrow().quiet()).ok) return 'docker';
  if ((await $`command -v podman`.nothrow().quiet()).ok) return 'podman';
  return null;
}

/**
 * Builds the image from `tarball` with the Dockerfile and saves it (docker-archive) as `imageTar`.
 * `buildArgs` become --build-arg, `buildFlags` go to the build as they are (the tests' --pull=never
 * and apt cache); `quiet` keeps the build's output, shown only when it fails. The context is a fresh folder holding the tarball alone: nothing else is sent.
 */
export async function buildImage({ tool, tarball, tag, imageTar, buildArgs = {}, buildFlags = [], quiet = false }) {
  const context = await fs.mkdtemp(path.join(path.dirname(imageTar), '.image-context-'));
  try {
    await fs.copy(tarball, path.join(context, TARBALL_NAME));
    // podman writes OCI images by default, and the OCI format has no HEALTHCHECK.
    const format = tool.endsWith('podman') ? ['--format', 'docker'] : [];
    const args = Object.entries(buildArgs).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
    const build = $({ stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'], nothrow: true });
    const out = await build`${tool} build ${format} ${buildFlags} ${args} -t ${tag} -f ${path.join(ROOT, 'Dockerfile')} ${context}`;
    if (!out.ok)
      throw new Error(
        `${tool} build failed (exit ${out.exitCode})${quiet ? `:\n${out.stdout.slice(-3000)}${out.stderr.slice(-3000)}` : ''}`,
      );
  } finally {
    await fs.remove(context);
  }
  await fs.remove(imageTar);
  // podman's default archive format is docker-archive already; docker has only that one.
  await $({ quiet: true })`${tool} save -o ${imageTar} ${tag}`;
  return imageTar;
}

/**
 * Builds the tarball, the stamped bootstrap and the checksums; returns their paths. With `image`
 * ({ tool, tag?, buildArgs?, buildFlags? }) it also builds the container image (tag: srs-stack:v<version>)
 * and saves it.
 */
export async function buildRelease({
  outDir = RELEASE_DIR,
  releaseBase = process.env.SRS_STACK_RELEASE_BASE || DEFAULT_RELEASE_BASE,
  image = null,
} = {}) {
  const { version } = await fs.readJson(path.join(ROOT, 'package.json'));
  const work = path.join(outDir, 'stage');
  await stageRelease(path.join(work, 'srs-stack'));
  const tarball = path.join(outDir, TARBALL_NAME);
  // Sorted, root-owned entries with a fixed mtime: the same tree gives the same tarball.
  await $`tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=${'@0'} -C ${work} -czf ${tarball} srs-stack`;
  await fs.remove(work);
  const digest = await sha256(tarball);
  const bootstrap = (await fs.readFile(path.join(ROOT, 'installer', 'bootstrap.sh'), 'utf8'))
    .replace('@RELEASE_URL@', `${releaseBase}/v${version}/${TARBALL_NAME}`)
    .replace('@RELEASE_SHA256@', digest);
  const installSh = path.join(outDir, 'install.sh');
  await fs.writeFile(installSh, bootstrap, { mode: 0o755 });
  let sums = `${digest}  ${TARBALL_NAME}\n${await sha256(installSh)}  install.sh\n`;
  let imageTar = null;
  const imageTag = image?.tag ?? `srs-stack:v${version}`;
  if (image) {
    imageTar = await buildImage({ ...image, tarball, tag: imageTag, imageTar: path.join(outDir, IMAGE_TAR_NAME) });
    sums += `${await sha256(imageTar)}  ${IMAGE_TAR_NAME}\n`;
  }
  await fs.writeFile(path.join(outDir, 'SHA256SUMS'), sums);
  return { tarball, installSh, version, sha256: digest, imageTar, imageTag };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tool = process.env.SRS_STACK_IMAGE === '0' ? null : await containerTool();
  if (!tool) console.log('No docker daemon or podman here (or SRS_STACK_IMAGE=0): the container image is not built.');
  const { tarball, installSh, version, imageTar, imageTag } = await buildRelease({ image: tool ? { tool } : null });
  const mib = async (file) => `${((await fs.stat(file)).size / 1048576).toFixed(1)} MiB`;
  console.log(
    `SRS Stack ${version}: ${path.relative(ROOT, tarball)} (${await mib(tarball)}), ${path.relative(ROOT, installSh)}` +
      (imageTar
        ? `, ${path.relative(ROOT, imageTar)} (${await mib(imageTar)}, image ${imageTag}; docker load -i ${path.relative(ROOT, imageTar)})`
        : ''),
  );
}
