// Sources of virtual live and camera slots: SRS Stack's FFprobeSource objects (a file under the data
// directory or a stream URL plus what ffprobe said about it), stream-URL rules and file locations.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { resolveInside } from '../../core/data-dir.js';
import { ValidationError } from '../../core/errors.js';
import { rebuildStreamUrl, schemeOf } from '../../core/ffmpeg/argv.js';
import type { ProbeAudio, ProbeFormat, ProbeResult, ProbeVideo } from '../../core/ffmpeg/probe.js';

export const SOURCE_TYPES = ['upload', 'file', 'ytdl', 'stream'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** Extensions SRS Stack accepts for uploads and server files. */
export const MEDIA_EXTENSIONS = ['.mp4', '.flv', '.ts', '.mkv', '.mov', '.mp3', '.aac', '.m4a'];

/** A candidate from the request body (`vlive/source`, `…/secret`), not yet trusted. */
export interface SourceRequest {
  name: string;
  path: string;
  size: number;
  uuid: string;
  /** `vlive/{uuid}.mp4` (relative to the data directory) or the stream URL. */
  target: string;
  type: SourceType;
}

/** SRS Stack's FFprobeSource: an accepted source and what ffprobe said about it. */
export interface SourceFile extends SourceRequest {
  format: ProbeFormat | null;
  video: ProbeVideo | null;
  audio: ProbeAudio | null;
}

const STREAM_SCHEMES = ['rtmp', 'srt', 'rtsp', 'http', 'https'];
const HTTP_STREAM_SUFFIXES = ['.flv', '.m3u8', '.ts'];

/** A stream URL a task may relay: rtmp, srt, rtsp, or http(s) FLV / HLS / TS. Returns it re-escaped. */
export function checkStreamUrl(url: string): string {
  const u = url.trim();
  const scheme = schemeOf(u);
  if (!STREAM_SCHEMES.includes(scheme) || !/^[a-z]+:\/\/[^\s]+$/i.test(u)) {
    throw new ValidationError(`invalid url scheme of ${u}: use rtmp://, srt://, rtsp://, or http(s):// ending in .flv, .m3u8 or .ts`);
  }
  if (scheme === 'http' || scheme === 'https') {
    const pathname = streamUrlPath(u);
    if (!pathname || pathname === '/') throw new ValidationError(`url path of ${u} is empty`);
    if (!HTTP_STREAM_SUFFIXES.some((s) => pathname.endsWith(s))) {
      throw new ValidationError(`invalid url path suffix ${pathname}: an http(s) stream must end in .flv, .m3u8 or .ts`);
    }
  }
  return rebuildStreamUrl(u);
}

function streamUrlPath(url: string): string {
  return /^[a-z]+:\/\/[^/?#]*([^?#]*)/i.exec(url)?.[1] ?? '';
}

/**
 * The stream of this stack a URL names, or null when it names another server: `rtmp://` to a
 * loopback host (`localhost`, `127.x.x.x`, `[::1]`) at one of `ports` (1935 when the URL has none),
 * e.g. `rtmp://localhost:1935/live/livestream?secret=…` as the console shows it. Names stay raw, as
 * the engine compares them (stream-names.ts).
 */
export function stackStreamOf(url: string, ports: readonly number[]): { app: string; stream: string } | null {
  const m = /^rtmp:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d+))?\/([^/?#]+)\/([^/?#]+)(?:[?#].*)?$/i.exec(url.trim());
  if (!m) return null;
  const [, host, port, app, stream] = m as unknown as [string, string, string | undefined, string, string];
  const h = host.toLowerCase();
  if (h !== 'localhost' && h !== '[::1]' && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return null;
  if (!ports.includes(port ? Number(port) : 1935)) return null;
  return { app, stream };
}

/** `vlive/stream-url`: `{name, uuid, target}` for a URL relayed without downloading. */
export function streamUrlSource(url: string): { name: string; uuid: string; target: string } {
  const target = checkStreamUrl(url);
  return { name: path.posix.basename(streamUrlPath(target)) || target, uuid: crypto.randomUUID(), target };
}

export function checkMediaExtension(name: string): string {
  const ext = path.extname(name).toLowerCase();
  if (!MEDIA_EXTENSIONS.includes(ext)) {
    throw new ValidationError(`invalid file extension ${ext || '(none)'} of ${name}: use one of ${MEDIA_EXTENSIONS.join(' ')}`);
  }
  return ext;
}

function isUuid(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
}

/**
 * The type of a source sent without one (or with ""): a file (`upload`: `vlive/server` and
 * `vlive/upload` answer `{name, size, target: "upload/<uuid>.<ext>", uuid}` without a type, and SRS
 * Stack takes that as a file), or `stream` when the target is a URL (a camera's, which SRS Stack's
 * console always sends typed).
 */
export function untypedSource(target: string): SourceType {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target.trim()) ? 'stream' : 'upload';
}

/** Reads `files` from a request body: a non-empty array of source objects; a missing type is inferred (untypedSource). */
export function readSourceRequests(value: unknown, max = 16): SourceRequest[] {
  if (!Array.isArray(value) || value.length === 0) throw new ValidationError('no files: files must be a non-empty array');
  if (value.length > max) throw new ValidationError(`too many files (max ${max})`);
  return value.map((raw, i) => {
    if (!raw || typeof raw !== 'object') throw new ValidationError(`files[${i}] must be an object`);
    const f = raw as Record<string, unknown>;
    if (typeof f.target !== 'string' || !f.target.trim()) throw new ValidationError(`no target: files[${i}].target is required`);
    const type = typeof f.type === 'string' && f.type !== '' ? f.type : untypedSource(f.target);
    if (!(SOURCE_TYPES as readonly string[]).includes(type)) {
      throw new ValidationError(`invalid files[${i}].type ${type || '(none)'}: use ${SOURCE_TYPES.join(', ')}`);
    }
    const str = (x: unknown) => (typeof x === 'string' ? x.slice(0, 1024) : '');
    return {
      name: str(f.name),
      path: str(f.path),
      size: typeof f.size === 'number' && Number.isFinite(f.size) && f.size >= 0 ? f.size : 0,
      uuid: isUuid(f.uuid) ? f.uuid.toLowerCase() : crypto.randomUUID(),
      target: f.target.trim(),
      type: type as SourceType,
    };
  });
}

/** A file target inside a directory of the data dir (`upload/…`, `vlive/…`), resolved; null if elsewhere. */
export function fileInside(dataDir: string, subdir: string, target: string): string | null {
  const resolved = resolveInside(path.join(dataDir, subdir), path.resolve(dataDir, target));
  return resolved && fs.existsSync(resolved) && fs.statSync(resolved).isFile() ? resolved : null;
}

export function toSourceFile(req: SourceRequest, target: string, probe: ProbeResult | null): SourceFile {
  return { ...req, target, format: probe?.format ?? null, video: probe?.video ?? null, audio: probe?.audio ?? null };
}

/** Reads a stored source, keeping SRS Stack's shape; null when it cannot be used. */
export function decodeSourceFile(v: unknown): SourceFile | null {
  if (!v || typeof v !== 'object') return null;
  const f = v as Record<string, unknown>;
  if (typeof f.target !== 'string' || !(SOURCE_TYPES as readonly string[]).includes(f.type as string)) return null;
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  return {
    name: str(f.name),
    path: str(f.path),
    size: typeof f.size === 'number' ? f.size : 0,
    uuid: str(f.uuid),
    target: f.target,
    type: f.type as SourceType,
    format: (f.format as ProbeFormat) ?? null,
    video: (f.video as ProbeVideo) ?? null,
    audio: (f.audio as ProbeAudio) ?? null,
  };
}

export function decodeSourceFiles(v: unknown): SourceFile[] {
  return Array.isArray(v) ? v.map(decodeSourceFile).filter((f): f is SourceFile => f !== null) : [];
}
