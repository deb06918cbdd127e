// Segment intake: which of the engine's finished segments are recorded, and into which record.
// A segment joins its playlist's record (or begins one) when the settings record its stream. A late
// segment never begins a record: neither one left by the engine before a crash, nor the engine's
// last partial segment trailing an unpublish whose record was ended. A segment announced again is
// taken once, and the first segment of a new publish inside a record is marked as a discontinuity.
import type { HlsSegmentEvent, StreamInfo } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import { checkSegment } from './disk.js';
import type { Recordings } from './recordings.js';
import { recordsStream, type RecordSettings } from './settings.js';

const log = createLogger('record');

export class SegmentIntake {
  /** Per playlist: true while publishing, false after unpublish; unknown (absent) after a restart. */
  private readonly publishing = new Map<string, boolean>();

  constructor(
    private readonly recordings: Recordings,
    private readonly settings: RecordSettings,
  ) {}

  onPublish(stream: StreamInfo, publishing: boolean): void {
    const url = `${stream.app}/${stream.stream}.m3u8`;
    this.publishing.set(url, publishing);
    const task = this.recordings.ofPlaylist(url);
    if (publishing && task && task.state.nn > 0) task.discontinuityNext = true;
  }

  async take(segment: HlsSegmentEvent): Promise<void> {
    if (!recordsStream(await this.settings.current(), segment.app, segment.stream)) return;
    let task = this.recordings.ofPlaylist(segment.m3u8_url);
    if (!task && segment.leftover) {
      // Late segments belong to the record they were part of; without one there is nothing to complete.
      log.info(`segment ${segment.url} left by the previous engine: no record in progress for ${segment.m3u8_url}, not recorded`);
      return;
    }
    if (!task && this.publishing.get(segment.m3u8_url) === false) {
      // The engine's last partial segment can trail the unpublish; after record/end it must not
      // start a record of its own ("ending after unpublish starts none").
      log.info(`segment ${segment.url} arrived after ${segment.m3u8_url} unpublished and its record ended: not recorded`);
      return;
    }
    const size = await checkSegment(segment.file);
    task ??= await this.recordings.begin(segment);
    if (this.recordings.holds(task, segment, size)) return;
    await this.recordings.add(task, segment, size);
  }
}
