// `npm run pack:bt` / `npm run pack:aapanel`: builds release/bt-srs_stack.zip or
// release/aapanel-srs_stack.zip. The panels want exactly one top folder named after the plugin id
// (srs_stack/) holding info.json and install.sh; the built stack rides along in srs_stack/app so the
// install needs no download of the stack itself. File modes are kept (scripts stay executable).
import { fs, path } from 'zx';
import { ZipArchive } from 'archiver';
import { fileURLToPath } from 'node:url';
import { RELEASE_DIR, ROOT, stageRelease } from '../installer/release.mjs';

export const PLUGIN_ID = 'srs_stack';
const SRC = path.join(ROOT, 'plugin', 'src');
const COPIED = ['install.sh', 'setup.sh', 'srs_stack_main.py', 'bt_tools.py', 'icon.png'];

/** What differs between the two panels: page language, and the CLOUD the stack reports. */
export const VARIANTS = {
  bt: { zip: 'bt-srs_stack.zip', language: 'zh', cloud: 'BT' },
  aapanel: { zip: 'aapanel-srs_stack.zip', language: 'en', cloud: 'AAPANEL' },
};

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Fills {{key}} (HTML-escaped) and the I18N object of the page template with one language. */
export function renderPage(template, dictionary, language) {
  const strings = Object.fromEntries(Object.entries(dictionary).map(([key, texts]) => [key, texts[language]]));
  const html = template.replace(/\{\{(\w+)\}\}/g, (_, key) => {
    if (typeof strings[key] !== 'string') throw new Error(`plugin page: no ${language} text for {{${key}}}`);
    return escapeHtml(strings[key]);
  });
  // JSON inside <script>: "<" escaped so no text can close the script element.
  return html.replace('/*I18N*/ {}', JSON.stringify(strings).replace(/</g, '\\u003c'));
}

/** Lays out srs_stack/ for one panel under `work` and returns that folder. */
export async function stagePlugin(variantName, work) {
  const variant = VARIANTS[variantName];
  if (!variant) throw new Error(`unknown plugin variant "${variantName}": use ${Object.keys(VARIANTS).join(' or ')}`);
  const { version } = await fs.readJson(path.join(ROOT, 'package.json'));
  const dir = path.join(work, PLUGIN_ID);
  await fs.remove(dir);
  await fs.ensureDir(dir);
  for (const file of COPIED) await fs.copy(path.join(SRC, file), path.join(dir, file));
  const info = { ...(await fs.readJson(path.join(ROOT, 'plugin', variantName, 'info.json'))), versions: version };
  await fs.writeJson(path.join(dir, 'info.json'), info, { spaces: 2 });
  const template = await fs.readFile(path.join(SRC, 'index.html'), 'utf8');
  await fs.writeFile(path.join(dir, 'index.html'), renderPage(template, await fs.readJson(path.join(SRC, 'i18n.json')), variant.language));
  // Not ".env": the panels delete files of that name when importing a plugin.
  await fs.writeFile(path.join(dir, 'config'), `LANGUAGE=${variant.language}\nCLOUD=${variant.cloud}\n`);
  await stageRelease(path.join(dir, 'app'));
  return dir;
}

/** Builds the zip for one panel into outDir; returns its path. */
export async function packPlugin(variantName, outDir = RELEASE_DIR) {
  const work = path.join(outDir, `stage-${variantName}`);
  const dir = await stagePlugin(variantName, work);
  const zipPath = path.join(outDir, VARIANTS[variantName].zip);
  await fs.ensureDir(outDir);
  const output = fs.createWriteStream(zipPath);
  const archive = new ZipArchive({ zlib: { level: 9 } });
  const closed = new Promise((resolve, reject) => {
    output.on('close', resolve);
    archive.on('error', reject);
  });
  archive.pipe(output);
  archive.directory(dir, PLUGIN_ID);
  await archive.finalize();
  await closed;
  await fs.remove(work);
  return zipPath;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const zipPath = await packPlugin(process.argv[2] ?? '');
  console.log(`${path.relative(ROOT, zipPath)} (${((await fs.stat(zipPath)).size / 1048576).toFixed(1)} MiB)`);
}
