// The slate's pure parts (docs/architecture.md, "The slate"): the clip's and the preview's ffmpeg
// argv, the checks of an uploaded picture, and the feed's drop-behind policy.
import assert from 'node:assert/strict';
import type { FlvTag } from '../../server/core/media/flv-tags.js';
import { DropBehind } from '../../server/features/restream/slate/drop-behind.js';
import { checkPicture, pictureNameProblem } from '../../server/features/restream/slate/picture.js';
import {
  DEFAULT_SLATE_TEXT,
  slateEncodeArgs,
  slateKey,
  slatePreviewArgs,
  slateVideoFilter,
  usableFont,
  type SlateFormat,
  type SlateLook,
} from '../../server/features/restream/slate/slate-clip.js';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
const DEFAULT: SlateLook = { image: null, font: FONT, id: 'default-text' };
const PLAIN: SlateLook = { image: null, font: null, id: 'default-plain' };
const PICTURE: SlateLook = { image: '/data/slate/picture-ab12.png', font: FONT, id: 'picture-ab12' };
const HD: SlateFormat = { video: { width: 1280, height: 720, fps: 30 }, audio: { sampleRate: 48000, channels: 2 } };

const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('slate clip argv', () => {
  it('scales and pads the picture to the stream, on the background, whatever its shape', () => {
    const args = slateEncodeArgs(HD, PICTURE, '/run/slate/x.flv');
    // Read once, scaled once, repeated by the filter.
    assert.deepEqual(args.slice(4, 8), ['-framerate', '30', '-i', '/data/slate/picture-ab12.png']);
    assert.ok(!args.includes('-loop'));
    assert.equal(
      after(args, '-vf'),
      'scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=0x1f2937,setsar=1,format=yuv420p,loop=loop=-1:size=1:start=0',
    );
    // Matches the stream: its rate, its audio; a keyframe a second carrying its parameter sets.
    assert.equal(after(args, '-r'), '30');
    assert.equal(after(args, '-g'), '30');
    assert.equal(after(args, '-x264-params'), 'repeat-headers=1');
    assert.ok(args.join(' ').includes('-f lavfi -i anullsrc=r=48000:cl=stereo'));
    assert.deepEqual(args.slice(-4), ['-f', 'flv', '-y', '/run/slate/x.flv']);
  });

  it('draws "We’ll be right back" on the default frame when a font is there, a plain frame otherwise', () => {
    const text = slateEncodeArgs(HD, DEFAULT, '/o.flv');
    assert.ok(text.includes('color=c=0x1f2937:size=1280x720:rate=30'));
    assert.equal(
      after(text, '-vf'),
      `drawtext=fontfile=${FONT}:text=${DEFAULT_SLATE_TEXT}:fontcolor=white:fontsize=60:x=(w-text_w)/2:y=(h-text_h)/2,setsar=1,format=yuv420p`,
    );
    assert.equal(DEFAULT_SLATE_TEXT, 'We’ll be right back');
    assert.equal(after(slateEncodeArgs(HD, PLAIN, '/o.flv'), '-vf'), 'setsar=1,format=yuv420p');
    // A font path that would need quoting in a filter graph is not used.
    assert.equal(usableFont("/fonts/it's:here.ttf"), null);
    assert.equal(slateVideoFilter({ ...DEFAULT, font: '/a b/c.ttf' }, 640, 360), 'setsar=1,format=yuv420p');
    assert.equal(usableFont(FONT), FONT);
  });

  it('makes silence only for a stream without video, and refuses a format without either', () => {
    const args = slateEncodeArgs({ video: null, audio: { sampleRate: 44100, channels: 1 } }, PICTURE, '/o.flv');
    assert.ok(!args.includes('-vf') && !args.includes('/data/slate/picture-ab12.png'));
    assert.ok(args.includes('anullsrc=r=44100:cl=mono'));
    assert.throws(() => slateEncodeArgs({ video: null, audio: null }, DEFAULT, '/o.flv'), /video or audio/);
  });

  it('keys the clip cache by format and look, so a new picture means new clips', () => {
    assert.equal(slateKey(HD, 'picture-ab12'), '1280x720@30-48000/2-picture-ab12');
    assert.notEqual(slateKey(HD, 'picture-ab12'), slateKey(HD, 'picture-cd34'));
    assert.equal(slateKey({ video: null, audio: null }, 'x'), 'novideo-noaudio-x');
  });

  it('renders the preview as one 640×360 JPEG frame through the same filter', () => {
    const args = slatePreviewArgs(PICTURE, '/run/slate/preview.jpg');
    assert.equal(after(args, '-vf'), slateVideoFilter(PICTURE, 640, 360));
    assert.equal(after(args, '-frames:v'), '1');
    assert.equal(args.at(-1), '/run/slate/preview.jpg');
    assert.ok(slatePreviewArgs(DEFAULT, '/p.jpg').includes('color=c=0x1f2937:size=640x360:rate=1'));
  });
});

describe('slate picture checks', () => {
  it('takes .png, .jpg and .jpeg names only', () => {
    for (const ok of ['a.png', 'B.JPG', 'c.jpeg']) assert.equal(pictureNameProblem(ok), null);
    for (const bad of ['a.gif', 'a.png.exe', 'a', '']) assert.match(pictureNameProblem(bad) ?? '', /must be a PNG or JPEG file/);
  });

  it('takes one PNG or JPEG picture of a sane size, and says why not otherwise', () => {
    assert.deepEqual(checkPicture({ video: { codec_name: 'png', width: 1920, height: 1080 }, audio: null }), {
      codec: 'png',
      width: 1920,
      height: 1080,
    });
    assert.equal(checkPicture({ video: { codec_name: 'mjpeg', width: 10, height: 10 }, audio: null }).codec, 'mjpeg');
    assert.throws(() => checkPicture({ video: null, audio: null }), /no picture/);
    assert.throws(() => checkPicture({ video: { codec_name: 'h264', width: 10, height: 10 }, audio: null }), /PNG or JPEG, not h264/);
    assert.throws(
      () => checkPicture({ video: { codec_name: 'mjpeg', width: 10, height: 10 }, audio: { codec_name: 'aac' } }),
      /one PNG or JPEG/,
    );
    assert.throws(() => checkPicture({ video: { codec_name: 'png', width: 9000, height: 10 }, audio: null }), /9000×10: at most 8192×8192/);
    assert.throws(() => checkPicture({ video: { codec_name: 'png' }, audio: null }), /no size/);
  });
});

/** A tag of `size` bytes: what the policy looks at. */
function tag(kind: 'video' | 'audio' | 'script', size: number, o: { keyframe?: boolean; sequenceHeader?: boolean } = {}): FlvTag {
  return {
    kind,
    timestamp: 0,
    dataSize: size,
    keyframe: o.keyframe ?? false,
    sequenceHeader: o.sequenceHeader ?? false,
    bytes: Buffer.alloc(size),
  };
}
const key = (size = 100) => tag('video', size, { keyframe: true });
const inter = (size = 10) => tag('video', size);
const audio = (size = 5) => tag('audio', size);

describe('feed drop-behind policy', () => {
  it('writes everything while the destination keeps up', () => {
    const p = new DropBehind(1000);
    const tags = [key(), audio(), inter(), inter(), audio()];
    assert.deepEqual(p.admit(tags, 0, true), tags);
    assert.equal(p.droppedTags, 0);
  });

  it('past the bound drops media up to the next keyframe that fits under half of it, then writes again', () => {
    const p = new DropBehind(1000);
    const config = tag('video', 40, { sequenceHeader: true });
    const late = [inter(), audio(), key(), inter()];
    // 995 queued: the inter frame does not fit; everything up to a keyframe goes, configurations pass.
    const first = p.admit([inter(), config, ...late], 995, true);
    assert.deepEqual(first, [config]);
    assert.ok(p.isDropping);
    assert.equal(p.episodes, 1);
    // Still 600 queued: a keyframe would not fit under half of the bound (500), dropped too.
    assert.deepEqual(p.admit([key(), inter()], 600, true), []);
    // Drained: the next keyframe resumes the stream, and what follows it is written.
    const resumed = [key(), audio(), inter()];
    assert.deepEqual(p.admit([inter(), audio(), ...resumed], 100, true), resumed);
    assert.ok(!p.isDropping);
    assert.equal(p.droppedTags, 5 + 2 + 2);
    assert.equal(p.droppedBytes, 10 + 10 + 5 + 100 + 10 + 100 + 10 + 10 + 5);
    assert.equal(p.episodes, 1);
  });

  it('counts what it admits within one call against the bound', () => {
    const p = new DropBehind(100);
    const out = p.admit([key(60), inter(30), inter(30), inter(30)], 0, true);
    assert.equal(out.length, 2, 'the third frame would pass the bound');
    assert.ok(p.isDropping);
  });

  it('resumes an audio-only stream on any audio tag', () => {
    const p = new DropBehind(100);
    assert.deepEqual(p.admit([audio(200)], 0, false), []);
    const a = audio(10);
    assert.deepEqual(p.admit([a], 0, false), [a]);
    // With video, audio alone never resumes.
    const v = new DropBehind(100);
    v.admit([inter(200)], 0, true);
    assert.deepEqual(v.admit([audio(10), inter(10)], 0, true), []);
  });

  it('always passes metadata and codec configurations', () => {
    const p = new DropBehind(10);
    const meta = tag('script', 50);
    const aac = tag('audio', 7, { sequenceHeader: true });
    assert.deepEqual(p.admit([meta, aac, inter(20)], 1000, true), [meta, aac]);
  });
});
