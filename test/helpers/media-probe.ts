// ffprobe and MP4 layout checks for tests that look at real media files.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Probe {
  duration: number;
  streams: Array<{ codec_type: string; codec_name: string }>;
}

export async function probe(file: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type,codec_name',
    '-of',
    'json',
    file,
  ]);
  const json = JSON.parse(stdout) as { format: { duration: string }; streams: Probe['streams'] };
  return { duration: Number(json.format.duration), streams: json.streams };
}

/** Top-level MP4 box types in file order (ftyp, moov, mdat…): +faststart puts moov before mdat. */
export function mp4TopLevelBoxes(file: string): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const header = Buffer.alloc(16);
    const types: string[] = [];
    for (let offset = 0; offset + 8 <= size;) {
      fs.readSync(fd, header, 0, 16, offset);
      let boxSize = header.readUInt32BE(0);
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - offset;
      types.push(header.toString('latin1', 4, 8));
      if (boxSize < 8) break;
      offset += boxSize;
    }
    return types;
  } finally {
    fs.closeSync(fd);
  }
}
