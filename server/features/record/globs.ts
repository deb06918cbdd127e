// Record filters (FAQ "How to Record a Specific Stream"): globs matched with minimatch against
// `/{app}/{stream}` — no vhost, no query, no extension (docs/compatibility.md §5.3).
import { minimatch } from 'minimatch';
import { ValidationError } from '../../core/errors.js';

export const MAX_GLOBS = 100;
const MAX_GLOB_LENGTH = 256;

export function streamPath(app: string, stream: string): string {
  return `/${app}/${stream}`;
}

/** Drops empty entries (SRS Stack does) and refuses globs that could never match a stream path. */
export function normaliseGlobs(globs: readonly string[]): string[] {
  const out = globs.map((g) => g.trim()).filter((g) => g !== '');
  if (out.length > MAX_GLOBS) throw new ValidationError(`too many globs: ${out.length}, at most ${MAX_GLOBS}`);
  for (const g of out) {
    if (g.length > MAX_GLOB_LENGTH) throw new ValidationError(`glob "${g.slice(0, 40)}…" is too long (max ${MAX_GLOB_LENGTH})`);
    if (!g.startsWith('/')) {
      throw new ValidationError(`glob "${g}" must start with /: it is matched against /{app}/{stream}, e.g. /live/*`);
    }
  }
  return out;
}

/** One glob per line (commas work too), as typed in the console's textarea. */
export function parseGlobText(text: string): string[] {
  return text.split(/[\r\n,]+/);
}

/** No globs means record every stream. */
export function matchesGlobs(path: string, globs: readonly string[]): boolean {
  return globs.length === 0 || globs.some((g) => minimatch(path, g));
}

/**
 * The stream path of whatever a user pastes into the tester: an RTMP/SRT/HTTP URL, a play URL with
 * .flv/.m3u8, or the path itself. The query (stream secret) and the media extension are dropped.
 */
export function streamPathOfUrl(input: string): string {
  const text = input.trim();
  let pathname: string;
  try {
    pathname = text.startsWith('/') ? new URL(text, 'http://x').pathname : new URL(text).pathname;
  } catch {
    throw new ValidationError(`"${text}" is not a URL or a path like /live/livestream`);
  }
  return decodeURIComponent(pathname).replace(/\.(flv|m3u8|ts|mp4)$/i, '');
}

export interface GlobTestResult {
  path: string;
  matched: boolean;
  /** The first glob that matched (empty when no glob is set: everything is recorded). */
  glob: string;
}

export function testGlobs(input: string, globs: readonly string[]): GlobTestResult {
  const path = streamPathOfUrl(input);
  const glob = globs.find((g) => minimatch(path, g)) ?? '';
  return { path, matched: globs.length === 0 || glob !== '', glob };
}
