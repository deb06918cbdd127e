// What any ingest asks of admission, in no protocol's shape: nginx-rtmp's hook, and later the SRT
// listener and the WHIP endpoint, each decode their own wire format into this
// (docs/architecture.md, "How a publish flows").

/** How the media reached the stack. */
export type IngestProtocol = 'rtmp' | 'srt' | 'webrtc';

export interface StreamRequest {
  readonly protocol: IngestProtocol;
  readonly vhost: string;
  readonly app: string;
  readonly stream: string;
  /** The publish or play URL's query, SRS style: `?secret=…`, or ''. */
  readonly param: string;
  /** The ingest's id of this connection, unique while it lasts (nginx's client id for RTMP). */
  readonly clientId: string;
  /** The peer's address without port ('' when unknown). */
  readonly clientAddress: string;
}

/**
 * The ingest a stored stream came from: SRS marks it in the param (`upstream=srt`, `upstream=rtc`);
 * RTMP publishes carry no mark.
 */
export function ingestOf(param: string): IngestProtocol {
  const upstream = new URLSearchParams(param.replace(/^\?/, '')).get('upstream');
  return upstream === 'srt' ? 'srt' : upstream === 'rtc' ? 'webrtc' : 'rtmp';
}
