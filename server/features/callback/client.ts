// One callback POST: JSON out, a bounded answer back, a hard deadline, no redirects. TLS is not
// verified, as in SRS Stack, so receivers with self-signed certificates (the stack's own HTTPS
// port included) work.
import http from 'node:http';
import https from 'node:https';

/** Carries the sender's instance id, so a callback that comes back to the same stack is recognised. */
export const LOOP_HEADER = 'x-srs-stack-callback';
const MAX_ANSWER_BYTES = 64 * 1024;

export interface CallbackAnswer {
  status: number;
  body: string;
}

export class CallbackTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** `loopMarker` identifies the sending process (see LOOP_HEADER). */
export function postJson(
  target: string,
  payload: unknown,
  timeoutMs: number,
  signal: AbortSignal,
  loopMarker: string,
): Promise<CallbackAnswer> {
  const url = new URL(target);
  const data = Buffer.from(JSON.stringify(payload));
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': String(data.length),
        'User-Agent': 'SRS-Stack-Callback',
        [LOOP_HEADER]: loopMarker,
      },
      rejectUnauthorized: false,
      signal,
    });
    const timer = setTimeout(() => req.destroy(new CallbackTimeoutError(timeoutMs)), timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - size));
        size += chunk.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(data);
  });
}

/** SRS Stack's rule: HTTP 200 and a body that is the number 0 or JSON whose code is 0. */
export function isAccepted(answer: CallbackAnswer): boolean {
  if (answer.status !== 200) return false;
  const text = answer.body.trim();
  if (/^0$/.test(text)) return true;
  try {
    const json = JSON.parse(text) as unknown;
    return typeof json === 'object' && json !== null && (json as { code?: unknown }).code === 0;
  } catch {
    return false;
  }
}
