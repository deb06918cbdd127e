// Virtual-live uploads: multipart bodies streamed straight to <data>/upload (never buffered), a size
// limit enforced before and while reading, partial files removed, and a janitor that deletes uploads
// nobody used within the TTL (SRS Stack: 2 h).
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { PayloadTooLargeError, ValidationError } from '../../../core/errors.js';
import { createLogger } from '../../../core/logger.js';
import { receiveFilePart } from '../../../core/multipart-file.js';
import { checkMediaExtension } from '../sources.js';

const log = createLogger('vlive');

/** Room for the multipart envelope around the file when judging a declared Content-Length. */
const MULTIPART_OVERHEAD = 64 * 1024;

export interface UploadResult {
  name: string;
  uuid: string;
  /** `upload/{uuid}{ext}`, relative to the data directory (SRS Stack's shape). */
  target: string;
  size: number;
}

export class Uploads {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly maxBytes: number,
    private readonly ttlMs: number,
  ) {}

  get dir(): string {
    return path.join(this.dataDir, 'upload');
  }

  start(): void {
    const every = Math.max(1000, Math.min(60_000, Math.floor(this.ttlMs / 2)));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Deletes uploads older than the TTL: a used upload has moved to vlive/ by then. */
  async sweep(now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    let names: string[];
    try {
      names = await fs.promises.readdir(this.dir);
    } catch {
      return removed;
    }
    for (const name of names) {
      const full = path.join(this.dir, name);
      try {
        const st = await fs.promises.lstat(full);
        if (st.isFile() && now - st.mtimeMs > this.ttlMs) {
          await fs.promises.rm(full, { force: true });
          removed.push(name);
        }
      } catch {
        /* gone meanwhile */
      }
    }
    if (removed.length) log.info(`removed ${removed.length} unused upload(s) older than ${Math.round(this.ttlMs / 1000)} s`);
    return removed;
  }

  /**
   * Receives one file part whose filename equals `name` (as SRS Stack checks). A body declared larger
   * than the limit is refused before reading; one that grows past it is discarded while being read.
   */
  async receive(req: IncomingMessage, name: string): Promise<UploadResult> {
    if (!name || name.length > 255 || name.includes('/') || name.includes('\\') || name.includes('\0')) {
      throw new ValidationError(`invalid file name ${name}`);
    }
    const ext = checkMediaExtension(name);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBytes + MULTIPART_OVERHEAD) throw this.tooLarge(declared);
    const uuid = crypto.randomUUID();
    const finalPath = path.join(this.dir, `${uuid}${ext}`);
    const partPath = `${finalPath}.part`;
    let size: number;
    try {
      size = await receiveFilePart(req, {
        partPath,
        maxBytes: this.maxBytes,
        checkName: (filename) => (filename === name ? null : `file name ${filename} does not match ${name} in the URL`),
        tooLarge: () => this.tooLarge(),
        noFile: `no file part named ${name} in the upload`,
      });
      await fs.promises.rename(partPath, finalPath);
    } catch (err) {
      await fs.promises.rm(partPath, { force: true });
      throw err;
    }
    log.info(`upload ${name} saved as upload/${uuid}${ext} (${size} bytes)`);
    return { name, uuid, target: `upload/${uuid}${ext}`, size };
  }

  private tooLarge(bytes?: number): PayloadTooLargeError {
    const limit = `${Math.round((this.maxBytes / 1024 / 1024) * 10) / 10} MB`;
    return new PayloadTooLargeError(
      bytes
        ? `upload too large: ${bytes} bytes, the limit is ${limit} (VLIVE_UPLOAD_MAX_MB)`
        : `upload too large: over ${limit} (VLIVE_UPLOAD_MAX_MB)`,
    );
  }
}
