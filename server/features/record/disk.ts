// A record's files on disk: the engine's segments are checked and copied in, and whatever an
// interrupted write (a crash, a full disk) left under a temporary name is cleared away.
import fs from 'node:fs';
import path from 'node:path';
import { replaceFileAtomic } from '../../core/atomic-write.js';

const TS_SYNC_BYTE = 0x47;

/** A segment file that exists but can never be recorded (empty, not MPEG-TS). */
export class BadSegmentError extends Error {}

/** The segment's size; refuses a missing, empty or non-MPEG-TS file (partial or cleaned up). */
export async function checkSegment(file: string): Promise<number> {
  const fh = await fs.promises.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`segment ${file} is not readable: ${err.code ?? err.message}`);
  });
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(1);
    const { bytesRead } = await fh.read(head, 0, 1, 0);
    if (size === 0 || bytesRead === 0 || head[0] !== TS_SYNC_BYTE) throw new BadSegmentError(`segment ${file} is empty or not MPEG-TS`);
    return size;
  } finally {
    await fh.close();
  }
}

/**
 * Copies (never hard-links) a segment: nginx-rtmp reopens a fragment path with O_TRUNC when a
 * sequence number comes round again, which would truncate a linked record in place. A copy-on-write
 * clone is used where the filesystem offers one. The temporary name keeps a partial copy invisible.
 */
export async function copySegment(source: string, target: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  await replaceFileAtomic(target, (tmp) => fs.promises.copyFile(source, tmp, fs.constants.COPYFILE_FICLONE));
}

/** Leftovers of an interrupted copy or remux (a crash, a full disk). */
export async function removeTemporaries(dir: string): Promise<void> {
  const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.endsWith('.tmp')).map((n) => fs.promises.rm(path.join(dir, n), { force: true })));
}

export async function exists(file: string): Promise<boolean> {
  return fs.promises
    .access(file)
    .then(() => true)
    .catch(() => false);
}
