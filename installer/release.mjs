// `npm run release` (after `npm run build`): builds release/linux-srs_stack.tar.gz, the tarball the
// curl|bash bootstrap downloads, plus release/install.sh (that bootstrap, pointing at the tarball)
// and release/SHA256SUMS. The plugin zips embed the same staged tree (plugin/pack.mjs).
//
// node_modules is bundled (production dependencies only, all pure JavaScript): target machines then
// need no npm client (Debian's pulls in hundreds of packages) and no registry round-trips at
// install time, which keeps installs fast where the registry is slow (FAQ "slow installs").
import { $, fs, path } from 'zx';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RELEASE_DIR = path.join(ROOT, 'release');
export const TARBALL_NAME = 'linux-srs_stack.tar.gz';
const DEFAULT_RELEASE_BASE = 'https://github.com/ossrs/srs-stack/releases/download';

/** Files of the installed app; the installer copies the same list (install.mjs APP_ENTRIES). */
const TOP_FILES = ['package.json', 'package-lock.json', 'README.md', 'LICENSE', 'docs'];
/** What runtime never reads: source maps and type declarations. */
const PRUNED = /(\.map|\.d\.ts|\.d\.mts|\.d\.cts)$/;

/** Production packages per the lockfile (paths like node_modules/a/node_modules/b). */
export function productionPackagePaths(lock) {
  return Object.entries(lock.packages ?? {})
    .filter(([key, meta]) => key.startsWith('node_modules/') && !meta.dev && !meta.link)
    .map(([key]) => key);
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
  for (const rel of productionPackagePaths(lock)) {
    const from = path.join(ROOT, rel);
    // Optional packages for other platforms are in the lockfile but not on disk.
    if (await fs.pathExists(from)) {
      await fs.copy(from, path.join(stage, rel), {
        dereference: true,
        filter: (src) => !PRUNED.test(src) && !src.slice(from.length).includes(`${path.sep}node_modules${path.sep}`),
      });
    }
  }
}

async function sha256(file) {
  return crypto
    .createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** Builds the tarball, the stamped bootstrap and the checksums; returns their paths. */
export async function buildRelease({
  outDir = RELEASE_DIR,
  releaseBase = process.env.SRS_STACK_RELEASE_BASE || DEFAULT_RELEASE_BASE,
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
  await fs.writeFile(path.join(outDir, 'SHA256SUMS'), `${digest}  ${TARBALL_NAME}\n${await sha256(installSh)}  install.sh\n`);
  return { tarball, installSh, version, sha256: digest };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { tarball, installSh, version } = await buildRelease();
  const size = (await fs.stat(tarball)).size;
  console.log(
    `SRS Stack ${version}: ${path.relative(ROOT, tarball)} (${(size / 1048576).toFixed(1)} MiB), ${path.relative(ROOT, installSh)}`,
  );
}
