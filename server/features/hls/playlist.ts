// Pure HLS playlist handling: parse the engine's media playlists, find the segments finished since
// the last look (the on_hls emulation), and the small rewrites the delivery needs.

export interface PlaylistSegment {
  readonly seq: number;
  readonly duration: number;
  readonly uri: string;
}

export interface MediaPlaylist {
  readonly mediaSequence: number;
  readonly targetDuration: number;
  readonly segments: readonly PlaylistSegment[];
  readonly ended: boolean;
}

/** Parses a media playlist; null when the text is not one (empty, truncated header, variant). */
export function parseMediaPlaylist(text: string): MediaPlaylist | null {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') return null;
  let mediaSequence = 0;
  let targetDuration = 0;
  let ended = false;
  let pendingDuration: number | null = null;
  const segments: PlaylistSegment[] = [];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    if (line.startsWith('#EXT-X-STREAM-INF')) return null;
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) {
      mediaSequence = Number.parseInt(line.slice('#EXT-X-MEDIA-SEQUENCE:'.length), 10) || 0;
    } else if (line.startsWith('#EXT-X-TARGETDURATION:')) {
      targetDuration = Number(line.slice('#EXT-X-TARGETDURATION:'.length)) || 0;
    } else if (line.startsWith('#EXTINF:')) {
      const value = Number.parseFloat(line.slice('#EXTINF:'.length));
      pendingDuration = Number.isFinite(value) ? value : 0;
    } else if (line === '#EXT-X-ENDLIST') {
      ended = true;
    } else if (!line.startsWith('#') && pendingDuration !== null) {
      segments.push({ seq: mediaSequence + segments.length, duration: pendingDuration, uri: line });
      pendingDuration = null;
    }
  }
  return { mediaSequence, targetDuration, segments, ended };
}

/**
 * Segments finished since the last look. `lastSeq` is the highest sequence number already
 * reported (null: never looked). A playlist whose newest segment is older than that means the
 * engine started the stream over (numbering restarted), so everything in it is new again.
 */
export function finishedSince(lastSeq: number | null, playlist: MediaPlaylist): { segments: PlaylistSegment[]; lastSeq: number | null } {
  const newest = playlist.segments.at(-1)?.seq ?? null;
  if (newest === null) return { segments: [], lastSeq };
  const restarted = lastSeq !== null && newest < lastSeq;
  const fresh = lastSeq === null || restarted ? [...playlist.segments] : playlist.segments.filter((s) => s.seq > lastSeq);
  return { segments: fresh, lastSeq: newest };
}

/** nginx-rtmp never writes EXT-X-ENDLIST when a stream ends; players need it to stop waiting. */
export function withEndList(text: string): string {
  if (/^#EXT-X-ENDLIST\s*$/m.test(text)) return text;
  return `${text.replace(/\s*$/, '')}\n#EXT-X-ENDLIST\n`;
}

/** SRS's hls_ctx answer: a one-entry variant playlist naming the player's session. */
export function sessionVariantPlaylist(mediaUri: string): string {
  return `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1\n${mediaUri}\n`;
}

/** A URI line that needs escaping: it holds something other than URL-safe path characters. */
const NEEDS_ESCAPING = /[^A-Za-z0-9\-._~/]/;

/**
 * nginx-rtmp writes segment URIs as raw file names (`<stream>-12.ts`). Stream names may hold `#`,
 * `%`, `&` (docs/architecture.md, "Stream names"), which a player would read as a fragment or an
 * escape: each path component of a URI line is percent-encoded. Plain names pass untouched.
 */
export function withEscapedSegmentUris(text: string): string {
  if (!NEEDS_ESCAPING.test(text.replace(/^#.*$/gm, '').replace(/\s+/g, ''))) return text;
  return text
    .split('\n')
    .map((line) => {
      const uri = line.trim();
      if (!uri || uri.startsWith('#') || !NEEDS_ESCAPING.test(uri)) return line;
      return uri.split('/').map(encodeURIComponent).join('/');
    })
    .join('\n');
}

/**
 * Appends `query` to every URI of a playlist: URI lines and `URI="…"` attributes (EXT-X-MAP, parts,
 * preload hints). Players resolve relative URIs without the playlist's own query, so an HLS
 * session's grant (features/play-auth) must be written into each one.
 */
export function withUriQuery(text: string, query: string): string {
  const add = (uri: string) => `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
  return text
    .split('\n')
    .map((line) => {
      const trimmed = line.trim();
      if (!trimmed) return line;
      if (!trimmed.startsWith('#')) return add(trimmed);
      return line.replace(/URI="([^"]*)"/g, (_m, uri: string) => `URI="${add(uri)}"`);
    })
    .join('\n');
}
