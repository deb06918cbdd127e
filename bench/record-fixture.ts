// The recording benches' stream (record.bench.ts, record-mux-cpu.ts): 10 minutes of 2.5 Mbit/s
// 1280x720 with AAC as 2 s HLS segments, made once by ffmpeg and cached in the temp directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeSegments, type FixtureSegment } from '../test/helpers/hls-fixture.js';

export const FIXTURE_DIR = path.join(os.tmpdir(), 'srs-stack-bench-record-600s-2500k');

export async function fixture(): Promise<FixtureSegment[]> {
  const cached = path.join(FIXTURE_DIR, 'segments.json');
  if (fs.existsSync(cached)) return JSON.parse(fs.readFileSync(cached, 'utf8')) as FixtureSegment[];
  const t0 = Date.now();
  const segments = await makeSegments(FIXTURE_DIR, { seconds: 600, videoBitrate: '2500k', size: '1280x720' });
  fs.writeFileSync(cached, JSON.stringify(segments));
  process.stdout.write(`generated ${segments.length} segments in ${((Date.now() - t0) / 1000).toFixed(0)} s (cached in ${FIXTURE_DIR})\n`);
  return segments;
}
