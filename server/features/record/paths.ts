// Where a record lives on disk, in SRS Stack's layout: record/{uuid}/ holds its segments
// ({tsid}.ts), the VOD playlist and index.mp4. Segment keys in Redis are relative to the data
// directory. Paths are only built from UUIDs the caller checked, so no other file can be named.
import fs from 'node:fs';
import path from 'node:path';
import type { DataPaths } from '../../core/data-dir.js';
import type { Artifact } from './model.js';

export class RecordPaths {
  constructor(private readonly data: DataPaths) {}

  /** The recording directory (docs/compatibility.md §5: `record/` in the data directory). */
  get home(): string {
    return this.data.record;
  }

  dir(uuid: string): string {
    return path.join(this.data.record, uuid);
  }

  mp4(uuid: string): string {
    return path.join(this.dir(uuid), 'index.mp4');
  }

  segment(uuid: string, tsid: string): string {
    return path.join(this.dir(uuid), `${tsid}.ts`);
  }

  /** The key a new segment is stored under: `record/{uuid}/{tsid}.ts`, as SRS Stack stores them. */
  segmentKey(uuid: string, tsid: string): string {
    return path.posix.join('record', uuid, `${tsid}.ts`);
  }

  absolute(key: string): string {
    return path.join(this.data.root, key);
  }

  /**
   * Deletes a record's files. Segments are in the record's directory, except some of records begun
   * by SRS Stack, which kept them directly in record/: those are removed by key.
   */
  async remove(artifact: Artifact): Promise<void> {
    const elsewhere = artifact.files.map((f) => this.absolute(f.key)).filter((f) => path.dirname(f) === this.data.record);
    await Promise.all(elsewhere.map((f) => fs.promises.rm(f, { force: true })));
    await fs.promises.rm(this.dir(artifact.uuid), { recursive: true, force: true });
  }
}
