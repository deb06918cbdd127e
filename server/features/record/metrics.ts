// What recording tells Prometheus: records in progress by state, records finished, segments lost
// and finishing failures by step. The counters live for the process; the gauges read live state.
import type { Metrics } from '../../core/metrics.js';

/** What finishing does, in order: remux the segments into an MP4, copy it (post-processing), save. */
export const FINISH_STEPS = ['remux', 'copy', 'save'] as const;
export type FinishStep = (typeof FINISH_STEPS)[number];

export class RecordCounters {
  finished = 0;
  /** MP4s made by remuxing the segments: the one written while recording was missing or not whole. */
  remuxed = 0;
  segmentsLost = 0;
  readonly finishFailures = Object.fromEntries(FINISH_STEPS.map((s) => [s, 0])) as Record<FinishStep, number>;
}

export interface RecordsInProgress {
  recording: number;
  finishing: number;
  /** Records whose MP4 is written while they record (live-mp4.ts, RECORD_MP4_WRITERS). */
  mp4Writers: number;
}

export function registerRecordMetrics(metrics: Metrics, counters: RecordCounters, inProgress: () => RecordsInProgress): void {
  metrics.gauge('srs_stack_recordings', 'Records in progress: recording (taking segments) or finishing (remux, post-processing).', () => {
    const { recording, finishing } = inProgress();
    return [
      { labels: { state: 'recording' }, value: recording },
      { labels: { state: 'finishing' }, value: finishing },
    ];
  });
  metrics.gauge('srs_stack_record_mp4_writers', 'Records whose MP4 is written while they record (at most RECORD_MP4_WRITERS).', () => [
    { value: inProgress().mp4Writers },
  ]);
  metrics.counter('srs_stack_recordings_finished_total', 'Records this process finished into an MP4.', () => [
    { value: counters.finished },
  ]);
  metrics.counter(
    'srs_stack_record_remuxes_total',
    'Records whose MP4 was remuxed from their segments at the end: the one written while recording was missing or not whole.',
    () => [{ value: counters.remuxed }],
  );
  metrics.counter('srs_stack_record_finish_failures_total', 'Failed attempts to finish a record, by step; each is retried.', () =>
    FINISH_STEPS.map((step) => ({ labels: { step }, value: counters.finishFailures[step] })),
  );
  metrics.counter('srs_stack_record_segments_lost_total', 'Segments that reached the recorder but could not be kept.', () => [
    { value: counters.segmentsLost },
  ]);
}
