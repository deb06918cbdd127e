// Shared by the packaging tests: where the sources are, and the release/pack builders (plain .mjs
// scripts, loaded at run time since they live outside the TypeScript tree).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/stack.js';

export { ROOT };
export const PACKAGING_DIR = path.join(ROOT, 'test', 'packaging');

export interface ReleaseBuild {
  tarball: string;
  installSh: string;
  version: string;
  sha256: string;
  /** The saved container image, when one was asked for. */
  imageTar: string | null;
}

/** What builds the container image (installer/release.mjs buildImage). */
export interface ImageBuild {
  tool: string;
  tag?: string;
  buildArgs?: Record<string, string>;
  buildFlags?: string[];
  quiet?: boolean;
}

/** `npm run release` into another folder (the tarball, install.sh and SHA256SUMS; the image when asked). */
export async function buildReleaseInto(outDir: string, image: ImageBuild | null = null): Promise<ReleaseBuild> {
  const mod = (await import(pathToFileURL(path.join(ROOT, 'installer', 'release.mjs')).href)) as {
    buildRelease(o: { outDir: string; releaseBase?: string; image: ImageBuild | null }): Promise<ReleaseBuild>;
  };
  return mod.buildRelease({ outDir, releaseBase: 'https://releases.example.invalid', image });
}

/** Runs a command and returns its exit code and combined output (never throws). */
export function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input });
  return { rc: res.status ?? -1, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
}
