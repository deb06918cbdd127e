// What the supervisor and the one-shot runner both do with a child's output: split it into lines as
// it arrives (ffmpeg and yt-dlp end progress lines with \r, everything else with \n, so either ends a
// line; a line that never ends is cut so memory stays bounded) and mask secrets before it is kept.
import { maskSecrets } from '../logger.js';

const MAX_PENDING_CHARS = 8192;

export interface LineSplitter {
  /** Feeds decoded text; calls onLine for every complete non-blank line in it. */
  push(text: string): void;
  /** The stream ended: the last line counts even without its line end. */
  end(): void;
}

export function lineSplitter(onLine: (line: string) => void): LineSplitter {
  let pending = '';
  const emit = (line: string) => {
    if (line.trim()) onLine(line);
  };
  return {
    push(text) {
      pending += text;
      const parts = pending.split(/[\r\n]+/);
      pending = parts.pop() ?? '';
      if (pending.length > MAX_PENDING_CHARS) pending = pending.slice(-MAX_PENDING_CHARS);
      for (const line of parts) emit(line);
    },
    end() {
      const last = pending;
      pending = '';
      emit(last);
    },
  };
}

/** maskSecrets plus the values this child was given (a stream key in a URL, a password). */
export function maskOutput(text: string, secrets: readonly string[] = []): string {
  let out = maskSecrets(text);
  for (const secret of secrets) if (secret) out = out.split(secret).join('******');
  return out;
}
