// The data directory keeps SRS Stack's layout (docs/compatibility.md §1.4) so existing installs and the FAQ's
// instructions ("mount /data/record", "put files under /data") keep working.
import fs from 'node:fs';
import path from 'node:path';

export const DATA_SUBDIRS = [
  'dvr',
  'record',
  'vod',
  'upload',
  'vlive',
  'signals',
  'lego',
  '.well-known',
  'config',
  'transcript',
  'srs-s3-bucket',
  'ai-talk',
  'dubbing',
  'ocr',
  'redis',
  // Ours: pid files of supervised children, and the media engine's prefix (config, HLS, temp).
  'run',
  'engine',
] as const;

export interface DataPaths {
  readonly root: string;
  readonly config: string;
  readonly redis: string;
  readonly run: string;
  readonly engine: string;
  readonly record: string;
  readonly upload: string;
  readonly vlive: string;
  readonly wellKnown: string;
  readonly s3Bucket: string;
  readonly lego: string;
  /** Ours: the slate picture (features/restream/slate/picture.ts), made on the first upload. */
  readonly slate: string;
}

export function dataPaths(root: string): DataPaths {
  return {
    root,
    config: path.join(root, 'config'),
    redis: path.join(root, 'redis'),
    run: path.join(root, 'run'),
    engine: path.join(root, 'engine'),
    record: path.join(root, 'record'),
    upload: path.join(root, 'upload'),
    vlive: path.join(root, 'vlive'),
    wellKnown: path.join(root, '.well-known'),
    s3Bucket: path.join(root, 'srs-s3-bucket'),
    lego: path.join(root, 'lego'),
    slate: path.join(root, 'slate'),
  };
}

/** Creates every directory (idempotent) and checks the root is writable, with a clear message. */
export function ensureDataDir(root: string): DataPaths {
  try {
    for (const sub of DATA_SUBDIRS) fs.mkdirSync(path.join(root, sub), { recursive: true });
    fs.chmodSync(path.join(root, 'config'), 0o700);
    fs.chmodSync(path.join(root, 'redis'), 0o700);
    const probe = path.join(root, 'run', '.write-test');
    fs.writeFileSync(probe, 'ok');
    fs.rmSync(probe);
  } catch (err) {
    throw new Error(`data directory ${root} is not usable: ${(err as Error).message}. Set DATA_DIR to a writable directory.`, {
      cause: err,
    });
  }
  const envFile = path.join(root, 'config', '.env');
  if (!fs.existsSync(envFile)) fs.writeFileSync(envFile, '# SRS Stack settings: KEY=value, see README "Configuration"\n', { mode: 0o600 });
  return dataPaths(root);
}

/**
 * A path as SRS Stack writes it relative to its own tree, where `containers/data` is the data
 * directory (its working directory is `platform/`; the console's post-processing default is
 * `./containers/data/srs-s3-bucket`): the same place under `root`. Null for any other relative path,
 * one that leaves `containers/data` with `..` included, and for an absolute path.
 */
export function srsStackDataPath(root: string, candidate: string): string | null {
  if (path.isAbsolute(candidate)) return null;
  const m = /^containers\/data(?:\/(.*?))?\/*$/.exec(path.posix.normalize(candidate));
  return m ? path.join(root, m[1] ?? '') : null;
}

/** Resolves `candidate` and checks it stays inside `root` after following symlinks. */
export function resolveInside(root: string, candidate: string): string | null {
  const rootReal = fs.realpathSync(root);
  const joined = path.resolve(rootReal, candidate);
  let real: string;
  try {
    real = fs.realpathSync(joined);
  } catch {
    real = joined;
  }
  return real === rootReal || real.startsWith(rootReal + path.sep) ? real : null;
}
