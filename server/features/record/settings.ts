// Recording settings (docs/compatibility.md §3.3), kept in Redis: on or off, the globs a stream must match, and
// the post-processing directory. The last values read are remembered, so recording goes on with
// them while Redis cannot answer.
import fs from 'node:fs';
import path from 'node:path';
import { srsStackDataPath } from '../../core/data-dir.js';
import { ValidationError, errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { matchesGlobs, normaliseGlobs, streamPath } from './globs.js';
import { POST_CP_FILE, type RecordPatterns, type RecordStorage } from './store.js';

const log = createLogger('record');

/** Whether settings record a stream: recording is on and the globs allow `/{app}/{stream}`. */
export function recordsStream(settings: RecordPatterns, app: string, stream: string): boolean {
  return settings.all && matchesGlobs(streamPath(app, stream), settings.globs);
}

export class RecordSettings {
  private cached: RecordPatterns = { all: false, globs: [], postCpDir: '' };

  constructor(
    private readonly store: RecordStorage,
    /** DATA_DIR: where SRS Stack's `./containers/data/…` paths point. */
    private readonly dataDir: string,
  ) {}

  /** The settings now, or the last ones read when Redis cannot answer. */
  async current(): Promise<RecordPatterns> {
    try {
      this.cached = await this.store.patterns();
    } catch (err) {
      log.debug(`using cached record settings: ${errorMessage(err)}`);
    }
    return this.cached;
  }

  async setAll(all: boolean): Promise<void> {
    await this.store.setAll(all);
    this.cached = { ...this.cached, all };
    log.info(`recording ${all ? 'enabled' : 'disabled'}`);
  }

  /** Takes effect on the next segment, without restarting anything (FAQ "Record a Specific Stream"). */
  async setGlobs(globs: string[]): Promise<string[]> {
    const clean = normaliseGlobs(globs);
    await this.store.setGlobs(clean);
    this.cached = { ...this.cached, globs: clean };
    return clean;
  }

  async setPostProcessing(postProcess: string, dir: string): Promise<void> {
    if (postProcess !== POST_CP_FILE) throw new ValidationError(`invalid post process "${postProcess}": use ${POST_CP_FILE}`);
    const given = dir.trim();
    // Stored resolved: SRS Stack's `./containers/data/…` becomes the path in this data directory.
    const target = given && !path.isAbsolute(given) ? srsStackDataPath(this.dataDir, given) : given;
    if (target === null) {
      throw new ValidationError(
        `postCpDir must be an absolute path, or SRS Stack's ./containers/data/… (the data directory ${this.dataDir}), got "${given}"`,
      );
    }
    if (target) {
      const stat = await fs.promises.stat(target).catch(() => null);
      const shown = target === given ? target : `${given} (${target})`;
      if (!stat?.isDirectory()) throw new ValidationError(`postCpDir ${shown} does not exist or is not a directory`);
    }
    await this.store.setPostCpDir(target);
    this.cached = { ...this.cached, postCpDir: target };
  }
}
