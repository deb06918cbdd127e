// The LL-HLS segmenter on real encoder output: ffmpeg writes FLV to a pipe (as the engine's tap and
// the pull deliver it), FlvParser cuts tags, the segmenter makes init + segments, and ffmpeg and
// ffprobe must read them back: H.264 with B-frames (composition offsets), AAC, audio only, video only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FlvParser, type FlvHeader } from '../../server/core/media/flv-tags.js';
import { DEFAULT_SEGMENTER_OPTIONS, LlHlsSegmenter } from '../../server/features/ll-hls/segmenter.js';
import { tempDir } from '../helpers/stack.js';

interface Encoded {
  header: FlvHeader;
  segmenter: LlHlsSegmenter;
}

/** `seconds` of test pattern and tone through ffmpeg to FLV on stdout, then through the segmenter. */
function encode(seconds: number, o: { video: boolean; audio: boolean; bframes: number; gop: number }): Encoded {
  const args = ['-hide_banner', '-loglevel', 'error'];
  if (o.video) args.push('-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=25:duration=${seconds}`);
  if (o.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`);
  if (o.video) args.push('-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', String(o.gop), '-bf', String(o.bframes));
  if (o.audio) args.push('-c:a', 'aac', '-b:a', '64k');
  args.push('-f', 'flv', 'pipe:1');
  const run = spawnSync('ffmpeg', args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr.toString());
  const parser = new FlvParser();
  const tags = parser.push(run.stdout);
  const segmenter = new LlHlsSegmenter({ ...DEFAULT_SEGMENTER_OPTIONS, windowSegments: 100 });
  segmenter.setHeader(parser.header as FlvHeader);
  segmenter.push(tags);
  segmenter.end('end of file');
  return { header: parser.header as FlvHeader, segmenter };
}

/** init + every segment in one file: what a player appends to its buffer, in order. */
function writeMp4(dir: string, name: string, s: LlHlsSegmenter): string {
  const file = path.join(dir, name);
  const init = s.init;
  assert.ok(init);
  fs.writeFileSync(file, Buffer.concat([init.bytes, ...s.segments.map((g) => g.bytes as Buffer)]));
  return file;
}

function probe(file: string): Array<{ codec_type: string; codec_name: string; nb_read_packets?: string }> {
  const run = spawnSync(
    'ffprobe',
    ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,codec_name,nb_read_packets', '-of', 'json', file],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { streams: Array<{ codec_type: string; codec_name: string; nb_read_packets?: string }> }).streams;
}

function decodesCleanly(file: string): void {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr.trim(), '', 'no decode errors');
}

describe('LL-HLS segmenter on real ffmpeg FLV: init and segments decode', function () {
  this.timeout(120_000);
  const dir = tempDir('ll-hls-mux-');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('H.264 with B-frames and AAC: every frame and every audio frame back, no decode error', () => {
    const { segmenter } = encode(6, { video: true, audio: true, bframes: 2, gop: 50 });
    assert.deepEqual(
      segmenter.segments.map((g) => g.duration.toFixed(1)),
      ['2.0', '2.0', '2.0'],
    );
    const file = writeMp4(dir, 'av.mp4', segmenter);
    decodesCleanly(file);
    const streams = probe(file);
    assert.equal(streams.find((x) => x.codec_type === 'video')?.nb_read_packets, '150');
    // 6 s at 48 kHz in 1024-sample frames; the few before the first video frame are not kept.
    assert.ok(Number(streams.find((x) => x.codec_type === 'audio')?.nb_read_packets) >= 278);
  });

  it('audio only', () => {
    const { header, segmenter } = encode(5, { video: false, audio: true, bframes: 0, gop: 0 });
    assert.deepEqual([header.hasAudio, header.hasVideo], [true, false]);
    const file = writeMp4(dir, 'a.mp4', segmenter);
    decodesCleanly(file);
    assert.deepEqual(
      probe(file).map((x) => x.codec_name),
      ['aac'],
    );
  });

  it('video only', () => {
    const { segmenter } = encode(5, { video: true, audio: false, bframes: 0, gop: 25 });
    const file = writeMp4(dir, 'v.mp4', segmenter);
    decodesCleanly(file);
    assert.deepEqual(
      probe(file).map((x) => [x.codec_name, x.nb_read_packets]),
      [['h264', '125']],
    );
  });

  it('every part on its own after the init segment is readable (what an LL player appends)', () => {
    const { segmenter } = encode(3, { video: true, audio: true, bframes: 0, gop: 50 });
    const init = segmenter.init?.bytes as Buffer;
    const seg = segmenter.segments[1];
    assert.ok(seg);
    for (const part of seg.parts.filter((p) => p.independent)) {
      const file = path.join(dir, `part-${part.index}.mp4`);
      fs.writeFileSync(file, Buffer.concat([init, part.bytes]));
      decodesCleanly(file);
    }
  });
});
