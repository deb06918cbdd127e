// LL-HLS media playlist text and the rules of blocking playlist reload (RFC 8216bis §4.4.3.8,
// §6.2.5.2, §6.2.6), as pure functions of a segmenter's window.

export interface PartView {
  readonly index: number;
  readonly duration: number;
  readonly independent: boolean;
}

export interface SegmentView {
  readonly msn: number;
  readonly parts: readonly PartView[];
  readonly duration: number;
  readonly complete: boolean;
  readonly programDateTime: number;
  readonly initId: number;
  readonly discontinuity: boolean;
}

export interface PlaylistView {
  readonly segments: readonly SegmentView[];
  readonly targetDuration: number;
  readonly partTarget: number;
  readonly discontinuitySequence: number;
  readonly ended: boolean;
}

/** Names of the files under /{app}/{stream}/ (the playlist is ll.m3u8). */
export const LL_PLAYLIST = 'll.m3u8';
export const initUri = (id: number) => `init-${id}.mp4`;
export const segmentUri = (msn: number) => `seg-${msn}.m4s`;
export const partUri = (msn: number, index: number) => `part-${msn}.${index}.m4s`;

export type LlFile =
  { kind: 'playlist' } | { kind: 'init'; id: number } | { kind: 'segment'; msn: number } | { kind: 'part'; msn: number; index: number };

/** Which LL-HLS file a name is, or null (the request is not ours). */
export function parseLlFile(name: string): LlFile | null {
  if (name === LL_PLAYLIST) return { kind: 'playlist' };
  let m = /^init-(\d{1,9})\.mp4$/.exec(name);
  if (m) return { kind: 'init', id: Number(m[1]) };
  m = /^seg-(\d{1,12})\.m4s$/.exec(name);
  if (m) return { kind: 'segment', msn: Number(m[1]) };
  m = /^part-(\d{1,12})\.(\d{1,6})\.m4s$/.exec(name);
  if (m) return { kind: 'part', msn: Number(m[1]), index: Number(m[2]) };
  return null;
}

/** PART-HOLD-BACK: three part targets, the spec's floor being two (§4.4.3.8). */
export function partHoldBack(partTarget: number): number {
  return 3 * partTarget;
}

/** Segments whose parts are still listed: those within three target durations of the end (§4.4.4.9). */
function listsParts(view: PlaylistView, index: number): boolean {
  let after = 0;
  for (let i = index + 1; i < view.segments.length; i++) after += (view.segments[i] as SegmentView).duration;
  return after < 3 * view.targetDuration;
}

const seconds = (s: number) => s.toFixed(5).replace(/0+$/, '').replace(/\.$/, '.0');

/** The media playlist; its preload hint names the part being produced (none once ended). */
export function renderPlaylist(view: PlaylistView): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:9',
    `#EXT-X-TARGETDURATION:${view.targetDuration}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${seconds(partHoldBack(view.partTarget))}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(view.partTarget)}`,
    `#EXT-X-MEDIA-SEQUENCE:${view.segments[0]?.msn ?? 0}`,
  ];
  if (view.discontinuitySequence) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${view.discontinuitySequence}`);
  let initId: number | null = null;
  view.segments.forEach((s, i) => {
    if (!s.complete && !s.parts.length) return;
    if (s.discontinuity && i > 0) lines.push('#EXT-X-DISCONTINUITY');
    if (s.initId !== initId) {
      initId = s.initId;
      lines.push(`#EXT-X-MAP:URI="${initUri(s.initId)}"`);
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}`);
    if (!s.complete || listsParts(view, i)) {
      for (const p of s.parts) {
        lines.push(
          `#EXT-X-PART:DURATION=${seconds(p.duration)},URI="${partUri(s.msn, p.index)}"${p.independent ? ',INDEPENDENT=YES' : ''}`,
        );
      }
    }
    if (s.complete) lines.push(`#EXTINF:${seconds(s.duration)},`, segmentUri(s.msn));
  });
  const next = nextPart(view);
  if (view.ended) lines.push('#EXT-X-ENDLIST');
  else if (next) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partUri(next.msn, next.index)}"`);
  return `${lines.join('\n')}\n`;
}

/** The part being produced now: the next one of the open segment (or of the next segment). */
export function nextPart(view: PlaylistView): { msn: number; index: number } | null {
  const last = view.segments.at(-1);
  if (!last) return null;
  return last.complete ? { msn: last.msn + 1, index: 0 } : { msn: last.msn, index: last.parts.length };
}

export type BlockingAnswer = 'ready' | 'wait' | 'bad-request';

/** §6.2.5.2: how many parts beyond the last one a request may ask for before it is a bad request. */
export function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? 3 / partTarget : 3;
}

/**
 * May a playlist request with `_HLS_msn` (and `_HLS_part`) be answered now (§6.2.5.2)? Ready once
 * the window holds that part or anything later (segment `msn` complete, when no part is asked):
 * asking for the part after a segment's last one is answered by the next segment's first part. A
 * request beyond the last segment plus two, or more than the Advance Part Limit beyond the last
 * part, is a bad request; otherwise it waits. An ended playlist ignores both directives.
 */
export function blockingAnswer(view: PlaylistView, msn: number, part: number | null): BlockingAnswer {
  if (view.ended) return 'ready';
  const lastMsn = view.segments.at(-1)?.msn ?? -1;
  if (msn > lastMsn + 2) return 'bad-request';
  if (part !== null && partsAhead(view, msn, part) > advancePartLimit(view.partTarget)) return 'bad-request';
  if (msn < (view.segments[0]?.msn ?? 0)) return 'ready'; // gone from the window: what is listed is later
  const target = view.segments.find((s) => s.msn === msn);
  if (part === null) return target?.complete ? 'ready' : 'wait';
  if (target && target.parts.length > part) return 'ready';
  return view.segments.some((s) => s.msn > msn && s.parts.length > 0) ? 'ready' : 'wait';
}

/**
 * How far (in parts) (msn, part) lies beyond the last listed part: exact within the last segment;
 * for a later segment only its own index counts (a lower bound, so no request is refused wrongly).
 */
function partsAhead(view: PlaylistView, msn: number, part: number): number {
  const last = view.segments.at(-1);
  if (!last || msn > last.msn) return part + 1;
  return msn === last.msn ? part - (last.parts.length - 1) : 0;
}

/**
 * A part request (the preload hint's, mostly): there, worth waiting for (the part being produced,
 * the one after it, or the next segment's first: the player may ask a moment early), or missing
 * (gone from the window, or the segment was cut before reaching that index).
 */
export function partAnswer(view: PlaylistView, msn: number, index: number): 'ready' | 'wait' | 'missing' {
  const segment = view.segments.find((s) => s.msn === msn);
  if (segment && segment.parts.length > index) return 'ready';
  if (view.ended) return 'missing';
  const next = nextPart(view) ?? { msn: 0, index: 0 };
  if (msn === next.msn && index >= next.index && index <= next.index + 1) return 'wait';
  if (msn === next.msn + 1 && index === 0) return 'wait';
  return 'missing';
}
