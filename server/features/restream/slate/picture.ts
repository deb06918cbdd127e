// The slate picture the user uploads (docs/architecture.md, "The slate"): one for the whole stack,
// kept in <data>/slate as `picture-<sha256 prefix>.png|jpg` with its description in picture.json.
// An upload is streamed to a temporary file, size-limited, probed with ffprobe (one PNG or JPEG
// picture) and rendered once as the console's preview (which proves ffmpeg decodes it) before it
// replaces the current picture: a refused upload changes nothing. A change tells the listeners
// (SlateSessions re-encodes the clips of the running feeds).
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { writeFileAtomic } from '../../../core/atomic-write.js';
import { PayloadTooLargeError, ValidationError } from '../../../core/errors.js';
import { probe } from '../../../core/ffmpeg/probe.js';
import { createLogger } from '../../../core/logger.js';
import { receiveFilePart } from '../../../core/multipart-file.js';
import { runOnce } from '../../../core/process/run-once.js';
import { slatePreviewArgs, usableFont, type SlateLook } from './slate-clip.js';

const log = createLogger('slate');

/** A still picture needs no more: a 4K PNG of a photo is about 8 MB. */
export const SLATE_PICTURE_MAX_BYTES = 10 * 1024 * 1024;
/** Larger pictures cost decode memory for nothing: the slate is at most the stream's size. */
export const SLATE_PICTURE_MAX_SIDE = 8192;
const MULTIPART_OVERHEAD = 64 * 1024;
const RENDER_TIMEOUT_MS = 30_000;
/** ffprobe's codec names of the pictures taken, and the extension each is stored with. */
const CODECS: Record<string, string> = { png: '.png', mjpeg: '.jpg' };
/** Fonts for the default slate's text, first found wins (fonts-dejavu-core comes with ffmpeg's fontconfig). */
export const DEFAULT_FONTS = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
];

export interface SlatePictureInfo {
  /** The stored file's name in the slate directory. */
  readonly file: string;
  /** The name it was uploaded with. */
  readonly name: string;
  readonly codec: 'png' | 'mjpeg';
  readonly width: number;
  readonly height: number;
  readonly size: number;
  readonly savedAt: string;
}

export interface SlatePictureOptions {
  /** <data>/slate: the picture and its description. */
  readonly dir: string;
  /** Where previews are rendered (the stack's temporary folder). */
  readonly cacheDir: string;
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** Candidate fonts for the default text; the first that exists is used. */
  readonly fonts?: readonly string[];
}

/** Why a file name cannot be a slate picture, or null. */
export function pictureNameProblem(name: string): string | null {
  return /\.(png|jpe?g)$/i.test(name)
    ? null
    : `the slate picture must be a PNG or JPEG file (.png, .jpg, .jpeg), not ${name || 'a file without a name'}`;
}

/** What ffprobe said, checked: one PNG or JPEG picture of a sane size; the problem otherwise. */
export function checkPicture(
  probed: { video: { codec_name: string; width?: number; height?: number } | null; audio: unknown },
  maxSide = SLATE_PICTURE_MAX_SIDE,
): { codec: 'png' | 'mjpeg'; width: number; height: number } {
  const v = probed.video;
  if (!v || probed.audio) throw new ValidationError('the slate picture must be one PNG or JPEG picture: ffprobe found no picture in it');
  if (!(v.codec_name in CODECS)) throw new ValidationError(`the slate picture must be PNG or JPEG, not ${v.codec_name}`);
  const width = v.width ?? 0;
  const height = v.height ?? 0;
  if (width < 1 || height < 1) throw new ValidationError('the slate picture has no size');
  if (width > maxSide || height > maxSide)
    throw new ValidationError(`the slate picture is ${width}×${height}: at most ${maxSide}×${maxSide} pixels, please`);
  return { codec: v.codec_name as 'png' | 'mjpeg', width, height };
}

export class SlatePicture {
  private info: SlatePictureInfo | null = null;
  private readonly font: string | null;
  private readonly listeners: Array<() => void> = [];
  private readonly previews = new Map<string, Promise<string>>();

  constructor(private readonly opts: SlatePictureOptions) {
    this.font = usableFont((opts.fonts ?? DEFAULT_FONTS).find((f) => fs.existsSync(f)) ?? null);
    this.info = this.load();
  }

  /** The picture now, or null (the default slate). */
  current(): SlatePictureInfo | null {
    return this.info;
  }

  /** What the slate shows now (slate-clip.ts). */
  look(): SlateLook {
    if (this.info) return this.lookOf(this.info);
    return { image: null, font: this.font, id: this.font ? 'default-text' : 'default-plain' };
  }

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** The preview JPEG of the current look (rendered once per look). */
  preview(): Promise<string> {
    return this.render(this.look());
  }

  /** `ffmpeg/forward/slate/upload`: takes one PNG or JPEG file part; the current picture stays unless it is good. */
  async receive(req: IncomingMessage): Promise<SlatePictureInfo> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > SLATE_PICTURE_MAX_BYTES + MULTIPART_OVERHEAD) throw tooLarge(declared);
    await fs.promises.mkdir(this.opts.dir, { recursive: true });
    const partPath = path.join(this.opts.dir, `incoming-${crypto.randomUUID()}.part`);
    let name = '';
    let stored: string | null = null;
    try {
      const size = await receiveFilePart(req, {
        partPath,
        maxBytes: SLATE_PICTURE_MAX_BYTES,
        checkName: (filename) => {
          name = filename;
          return pictureNameProblem(filename);
        },
        tooLarge: () => tooLarge(),
        noFile: 'no file in the upload: send the picture as a multipart file part',
      });
      const probed = await probe(this.opts.ffprobe, partPath).catch((err: unknown) => {
        if (!(err instanceof ValidationError)) throw err;
        throw new ValidationError(`the slate picture is not a picture ffprobe can read (${err.message})`);
      });
      const { codec, width, height } = checkPicture(probed);
      const hash = crypto
        .createHash('sha256')
        .update(await fs.promises.readFile(partPath))
        .digest('hex')
        .slice(0, 16);
      const file = `picture-${hash}${CODECS[codec] as string}`;
      stored = path.join(this.opts.dir, file);
      await fs.promises.rename(partPath, stored);
      const info: SlatePictureInfo = { file, name: path.basename(name), codec, width, height, size, savedAt: new Date().toISOString() };
      // ffmpeg must read it the way the slate will: a picture ffprobe likes but ffmpeg cannot decode is refused here.
      await this.render(this.lookOf(info)).catch((err: unknown) => {
        throw new ValidationError(`the slate picture cannot be decoded: ${(err as Error).message}`);
      });
      await this.replace(info);
      log.info(`slate picture ${info.name} saved as slate/${file} (${width}×${height}, ${size} bytes)`);
      return info;
    } catch (err) {
      await fs.promises.rm(partPath, { force: true });
      if (stored && stored !== this.path()) await fs.promises.rm(stored, { force: true });
      throw err;
    }
  }

  /** Back to the default slate; false when there was no picture. */
  async remove(): Promise<boolean> {
    if (!this.info) return false;
    await this.replace(null);
    log.info('slate picture removed: the default slate is back');
    return true;
  }

  private path(): string | null {
    return this.info ? path.join(this.opts.dir, this.info.file) : null;
  }

  private lookOf(info: SlatePictureInfo): SlateLook {
    return { image: path.join(this.opts.dir, info.file), font: this.font, id: info.file.replace(/\.\w+$/, '') };
  }

  private async replace(info: SlatePictureInfo | null): Promise<void> {
    const old = this.path();
    const oldLook = this.look().id;
    const description = path.join(this.opts.dir, 'picture.json');
    if (info) await writeFileAtomic(description, JSON.stringify(info));
    else await fs.promises.rm(description, { force: true });
    this.info = info;
    if (old && old !== this.path()) await fs.promises.rm(old, { force: true });
    if (oldLook !== this.look().id && oldLook.startsWith('picture-')) {
      // The default look's preview stays: it comes back with every removal.
      this.previews.delete(oldLook);
      await fs.promises.rm(this.previewFile(oldLook), { force: true });
    }
    for (const fn of this.listeners) fn();
  }

  private load(): SlatePictureInfo | null {
    try {
      const info = JSON.parse(fs.readFileSync(path.join(this.opts.dir, 'picture.json'), 'utf8')) as SlatePictureInfo;
      if (
        typeof info.file === 'string' &&
        /^picture-[0-9a-f]+\.(png|jpg)$/.test(info.file) &&
        fs.existsSync(path.join(this.opts.dir, info.file))
      )
        return info;
      log.warn('slate/picture.json names no picture: the default slate is used');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn(`slate/picture.json is unreadable: the default slate is used (${(err as Error).message})`);
    }
    return null;
  }

  private previewFile(lookId: string): string {
    return path.join(this.opts.cacheDir, `preview-${lookId}.jpg`);
  }

  private render(look: SlateLook): Promise<string> {
    let done = this.previews.get(look.id);
    if (!done) {
      done = (async () => {
        await fs.promises.mkdir(this.opts.cacheDir, { recursive: true });
        const file = this.previewFile(look.id);
        const res = await runOnce(this.opts.ffmpeg, slatePreviewArgs(look, file), { timeoutMs: RENDER_TIMEOUT_MS });
        if (res.code !== 0) throw new Error(res.stderr.trim().split('\n').at(-1) || `ffmpeg exited with ${res.code}`);
        return file;
      })();
      this.previews.set(look.id, done);
      done.catch(() => this.previews.delete(look.id));
    }
    return done;
  }
}

function tooLarge(bytes?: number): PayloadTooLargeError {
  const limit = `${SLATE_PICTURE_MAX_BYTES / 1024 / 1024} MB`;
  return new PayloadTooLargeError(
    bytes ? `the slate picture is too large: ${bytes} bytes, the limit is ${limit}` : `the slate picture is too large: over ${limit}`,
  );
}
