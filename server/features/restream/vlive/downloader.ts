// Virtual live from a web page (docs/compatibility.md §3.5 `vlive/ytdl`): a youtube-dl compatible downloader
// (yt-dlp by default) fetches the video into upload/, where `vlive/source` takes it like an upload.
// Optional: without the downloader the endpoint says how to install it. A download may run for
// hours, so it goes through the one-shot runner with the owner's AbortSignal: stopping the stack
// kills it (with the ffmpeg it may have started) and removes its partial file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError, PayloadTooLargeError, ValidationError } from '../../../core/errors.js';
import { createLogger } from '../../../core/logger.js';
import { runOnce, type RunOnceResult } from '../../../core/process/run-once.js';
import { MEDIA_EXTENSIONS } from '../sources.js';

const log = createLogger('vlive');

/** A download may take long (a two-hour show); past this it is abandoned. */
const DOWNLOAD_TIMEOUT_MS = 2 * 3600 * 1000;
const PROGRESS_LOG_EVERY_MS = 5000;
/** The downloader's last output kept to explain a failure (its ERROR: line, a size refusal). */
const OUTPUT_TAIL_CHARS = 16 * 1024;

export interface DownloadOptions {
  readonly bin: string;
  readonly proxy: string;
  readonly uploadDir: string;
  readonly maxBytes: number;
  /** Aborted when the stack stops: the download is killed and its partial file removed. */
  readonly signal?: AbortSignal;
}

/** The downloader's argv: one video (never a playlist), H.264 preferred (the relay copies codecs). */
export function ytdlArgs(url: string, outputTemplate: string, proxy: string, maxBytes: number): string[] {
  return [
    ...['--no-playlist', '--newline', '--no-mtime'],
    ...['-f', 'best[vcodec^=avc1]/best', '--max-filesize', String(maxBytes)],
    ...['--output', outputTemplate],
    ...(proxy ? ['--proxy', proxy] : []),
    '--',
    url,
  ];
}

/** `vlive/ytdl`'s URL: a web page over http(s). */
export function checkPageUrl(url: string): string {
  const u = url.trim();
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/i.test(u) || !URL.canParse(u)) {
    throw new ValidationError(`invalid url ${u}: a web page starting with http:// or https://`);
  }
  return u;
}

/** The name shown for a download: the page path's last segment, with the file's extension. */
export function downloadName(url: string, ext: string): string {
  let base = path.posix.basename(new URL(url).pathname);
  try {
    base = decodeURIComponent(base);
  } catch {
    /* not percent-encoded as it should be: keep it as written */
  }
  if (!base) return `video${ext}`;
  return path.extname(base) ? base : `${base}${ext}`;
}

/** Downloads `url` to `upload/{uuid}.{ext}`; resolves to SRS Stack's `{name, uuid, target, size}`. */
export async function downloadVideo(
  rawUrl: string,
  o: DownloadOptions,
): Promise<{ name: string; uuid: string; target: string; size: number }> {
  const url = checkPageUrl(rawUrl);
  const uuid = crypto.randomUUID();
  await fs.promises.mkdir(o.uploadDir, { recursive: true });
  const ours = async () => (await fs.promises.readdir(o.uploadDir)).filter((f) => f.startsWith(`${uuid}.`));
  let output: string;
  try {
    output = await run(o.bin, ytdlArgs(url, path.join(o.uploadDir, `${uuid}.%(ext)s`), o.proxy, o.maxBytes), url, o.signal);
  } catch (err) {
    // A failed or abandoned download leaves its .part behind: gone now, not at the upload TTL.
    await removeAll(o.uploadDir, await ours());
    throw err;
  }
  const files = await ours();
  const done = files.find((f) => !/\.(part|ytdl|temp)$/.test(f));
  if (!done) {
    await removeAll(o.uploadDir, files);
    if (/max-filesize|larger than/i.test(output)) {
      throw new PayloadTooLargeError(`the video of ${url} is larger than VLIVE_UPLOAD_MAX_MB (${o.maxBytes / 1024 / 1024} MB)`);
    }
    throw new ValidationError(`no video downloaded from ${url}: ${lastMessage(output) || 'the downloader said nothing'}`);
  }
  const ext = path.extname(done).toLowerCase();
  if (!MEDIA_EXTENSIONS.includes(ext)) {
    await removeAll(o.uploadDir, files);
    throw new ValidationError(
      `the video of ${url} came as ${ext || 'no extension'}, which virtual live cannot use: ${MEDIA_EXTENSIONS.join(' ')}`,
    );
  }
  const { size } = await fs.promises.stat(path.join(o.uploadDir, done));
  if (size > o.maxBytes) {
    // A server that did not announce the size: --max-filesize could not stop it in advance.
    await removeAll(o.uploadDir, files);
    throw new PayloadTooLargeError(`the video of ${url} is larger than VLIVE_UPLOAD_MAX_MB (${o.maxBytes / 1024 / 1024} MB)`);
  }
  return { name: downloadName(url, ext), uuid, target: `upload/${done}`, size };
}

/** Runs the downloader, logging its progress now and then; resolves to its output (the last 16 KB). */
async function run(bin: string, args: string[], url: string, signal: AbortSignal | undefined): Promise<string> {
  let output = '';
  let lastLog = 0;
  const onLine = (line: string) => {
    output = `${output}${line}\n`.slice(-OUTPUT_TAIL_CHARS);
    const progress = /^\[download\]\s+([\d.]+%.*)$/.exec(line)?.[1];
    if (progress && Date.now() - lastLog > PROGRESS_LOG_EVERY_MS) {
      lastLog = Date.now();
      log.info(`downloading ${url}: ${progress.trim()}`);
    }
  };
  let res: RunOnceResult;
  try {
    res = await runOnce(bin, args, { timeoutMs: DOWNLOAD_TIMEOUT_MS, signal, onLine });
  } catch (err) {
    if ((err as Error & { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') {
      throw new AppError(
        501,
        `virtual live from a web page needs yt-dlp: install it (apt install yt-dlp) or set YTDL_BIN (not found: ${bin})`,
      );
    }
    throw err;
  }
  if (res.code === 0) return output;
  if (res.aborted) throw new AppError(503, `the download of ${url} was stopped: the server is shutting down`);
  const why = res.timedOut
    ? `abandoned after ${DOWNLOAD_TIMEOUT_MS / 3600_000} hours`
    : res.signal
      ? `stopped by ${res.signal}`
      : lastMessage(output);
  throw new ValidationError(`cannot download ${url}: ${why || `the downloader exited with code ${res.code}`}`);
}

/** The downloader's last `ERROR:` line, else its last line. */
function lastMessage(output: string): string {
  const lines = output
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter(Boolean);
  return [...lines].reverse().find((l) => l.startsWith('ERROR:')) ?? lines.at(-1) ?? '';
}

async function removeAll(dir: string, files: string[]): Promise<void> {
  for (const f of files) await fs.promises.rm(path.join(dir, f), { force: true });
}
