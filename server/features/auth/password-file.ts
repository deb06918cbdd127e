// The admin password hash lives in a 0600 file under <data>/config, so a lost Redis never locks
// the admin out and the reset command needs no running stack.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-write.js';

export function passwordFilePath(configDir: string): string {
  return path.join(configDir, 'mgmt-password.hash');
}

export function readPasswordHash(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Writes atomically so a crash never leaves a half-written hash. */
export function writePasswordHash(file: string, hash: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, `${hash}\n`, { mode: 0o600 });
}
