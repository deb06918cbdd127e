// One file part of a multipart upload, streamed straight to disk (never buffered), with a size limit
// enforced while reading: the virtual-live uploads (features/restream/vlive/uploads.ts) and the slate
// picture (features/restream/slate/picture.ts). The caller owns the file at `partPath`: on failure it
// may hold a partial copy, which the caller removes.
import busboy from 'busboy';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { AppError, ValidationError } from './errors.js';

export interface FilePartOptions {
  /** Where the file is written (created; an existing file is an error). */
  readonly partPath: string;
  readonly maxBytes: number;
  /** Why a part with this file name is refused, or null to take it. */
  readonly checkName: (filename: string) => string | null;
  /** The error of a file over the limit. */
  readonly tooLarge: () => AppError;
  /** The message when no part was a file. */
  readonly noFile: string;
}

/** Receives the first acceptable file part into `partPath`; resolves to its size. */
export function receiveFilePart(req: IncomingMessage, opts: FilePartOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: opts.maxBytes, fields: 20, parts: 32 } });
    } catch {
      reject(new ValidationError('upload must be multipart/form-data with one file part'));
      return;
    }
    let failure: AppError | null = null;
    let written: Promise<number> | null = null;
    let settled = false;
    const fail = (err: AppError) => {
      failure ??= err;
    };
    const finish = (err: unknown, size = 0) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(size);
    };
    parser.on('file', (_field, file, info) => {
      const refused = written ? null : opts.checkName(info.filename ?? '');
      if (written || refused) {
        if (refused) fail(new ValidationError(refused));
        file.resume();
        return;
      }
      let size = 0;
      file.on('data', (chunk: Buffer) => (size += chunk.length));
      written = pipeline(file, fs.createWriteStream(opts.partPath, { flags: 'wx', mode: 0o644 })).then(() => {
        // busboy stops writing at the limit and drains the rest; the copy on disk is cut short.
        if ((file as unknown as { truncated?: boolean }).truncated) throw opts.tooLarge();
        return size;
      });
      written.catch(() => undefined);
    });
    parser.on('filesLimit', () => fail(new ValidationError('one file per upload')));
    parser.on('error', (err: Error) => finish(new ValidationError(`malformed multipart upload: ${err.message}`)));
    parser.on('close', () => {
      const failed = failure;
      if (failed) {
        // Let the file stream close before the caller removes the partial file.
        (written ?? Promise.resolve(0)).then(
          () => finish(failed),
          () => finish(failed),
        );
        return;
      }
      if (!written) return finish(new ValidationError(opts.noFile));
      written.then(
        (size) => finish(null, size),
        (err) => finish(err instanceof AppError ? err : new ValidationError(`cannot save the upload: ${(err as Error).message}`)),
      );
    });
    req.on('aborted', () => finish(new ValidationError('upload aborted by the client')));
    req.pipe(parser);
  });
}
