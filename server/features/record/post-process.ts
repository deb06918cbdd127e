// Post-processing: the finished MP4 is copied as {uuid}.mp4 into a directory of the user's choice
// (the FAQ suggests an s3fs mount). The copy is the user's from then on; removing the record keeps it.
import fs from 'node:fs';
import path from 'node:path';
import { replaceFileAtomic } from '../../core/atomic-write.js';
import { errorMessage } from '../../core/errors.js';

/** Copies into a directory under a hidden temporary name, then renames: never a partial file. */
export async function copyIntoDir(source: string, dir: string, name: string): Promise<string> {
  const stat = await fs.promises.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) throw new Error(`post-processing directory ${dir} is missing or not a directory`);
  const target = path.join(dir, name);
  try {
    await replaceFileAtomic(target, (tmp) => fs.promises.copyFile(source, tmp), { tmpPath: path.join(dir, `.${name}.tmp`) });
  } catch (err) {
    throw new Error(`post-processing copy to ${target} failed: ${errorMessage(err)}`, { cause: err });
  }
  return target;
}
