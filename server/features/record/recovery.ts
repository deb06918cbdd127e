// The first start after a stop or a crash: every working task in Redis resumes recording (its
// written-ahead segments are committed or copied again), and every record left unfinished resumes
// its finishing, so nothing that reached the recorder is lost.
import { createLogger } from '../../core/logger.js';
import { DEFAULT_VHOST } from '../../core/stream-names.js';
import type { Finisher } from './finish.js';
import type { Artifact, WorkingTask } from './model.js';
import type { Recordings } from './recordings.js';
import type { RecordStorage } from './store.js';

const log = createLogger('record');

export async function recoverRecords(store: RecordStorage, recordings: Recordings, finisher: Finisher): Promise<void> {
  const [tasks, artifacts] = await Promise.all([store.workingTasks(), store.artifacts()]);
  const byUuid = new Map(artifacts.map((a) => [a.uuid, a]));
  for (const state of tasks) {
    const artifact = byUuid.get(state.uuid) ?? artifactFor(state);
    byUuid.delete(state.uuid);
    await recordings.resume(state, artifact);
  }
  for (const artifact of byUuid.values()) {
    if (artifact.status === 'done' || finisher.has(artifact.uuid)) continue;
    // A record marked recording without a working task (only SRS Stack leaves that) is finished.
    if (artifact.status === 'recording') artifact.files = await store.recordingFiles(artifact.uuid);
    artifact.status = 'finishing';
    log.info(`record ${artifact.uuid}: resuming its finishing`);
    finisher.finish(artifact);
  }
}

/** An artifact for a working task that has none in Redis, so its record can go on. */
function artifactFor(state: WorkingTask): Artifact {
  const [app = '', stream = ''] = state.m3u8_url.replace(/\.m3u8$/, '').split('/');
  return {
    uuid: state.uuid,
    m3u8_url: state.m3u8_url,
    vhost: DEFAULT_VHOST,
    app,
    stream,
    progress: true,
    update: state.update,
    nn: 0,
    files: [],
    begin: state.update,
    status: 'recording',
    duration: 0,
    size: 0,
  };
}
