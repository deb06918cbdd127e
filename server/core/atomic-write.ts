// Replacing a file so that a reader, or the next start after a crash, finds the old content or the
// new one, never half of either: the content goes to a temporary name in the same directory (so the
// same filesystem), then one rename puts it in place. Every "write to tmp, rename" of the stack goes
// through here; a failed attempt removes its temporary.
import fs from 'node:fs';

export interface AtomicWriteOptions {
  /**
   * Permission bits of the file, set on the temporary before the rename, so the file is never
   * readable wider than this, not even for a moment; set explicitly, so the umask cannot narrow it.
   */
  mode?: number;
  /**
   * Flushes the content to disk before the rename: for a file whose presence others take as
   * "complete", when that is recorded somewhere that outlives a power cut (Redis saves every second).
   */
  fsync?: boolean;
  /**
   * The temporary's path; it must be in the target's directory. The default, `<file>.<pid>.tmp`,
   * keeps two processes (the server and the reset-password command) off each other's temporary.
   */
  tmpPath?: string;
}

function temporaryOf(file: string, options: AtomicWriteOptions): string {
  return options.tmpPath ?? `${file}.${process.pid}.tmp`;
}

/** Writes `content` to `file` atomically (synchronous: for small files written at start-up or by a command). */
export function writeFileAtomicSync(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = temporaryOf(file, options);
  try {
    fs.writeFileSync(tmp, content, { mode: options.mode });
    if (options.mode !== undefined) fs.chmodSync(tmp, options.mode);
    if (options.fsync) {
      const fd = fs.openSync(tmp, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // The original error matters more than one from the clean-up (a read-only or full disk).
    }
    throw err;
  }
}

/**
 * Produces `file` atomically from whatever `fill` writes to the temporary path it is given (a copy,
 * an ffmpeg output…). On any failure the temporary is removed, the target is left as it was, and
 * the error is rethrown.
 */
export async function replaceFileAtomic(
  file: string,
  fill: (tmp: string) => Promise<void>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = temporaryOf(file, options);
  try {
    await fill(tmp);
    if (options.mode !== undefined) await fs.promises.chmod(tmp, options.mode);
    if (options.fsync) await fsyncFile(tmp);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    // The original error matters more than one from the clean-up (a read-only or full disk).
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Writes `content` to `file` atomically. */
export function writeFileAtomic(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  return replaceFileAtomic(file, (tmp) => fs.promises.writeFile(tmp, content, { mode: options.mode }), options);
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
