// The stack's own admission gates (docs/architecture.md, "How a publish flows"). The composition
// root puts them in order, with the user's HTTP callback last: a publish with a wrong secret never
// reaches the user's receiver.
import { ForbiddenError } from '../../core/errors.js';
import { checkStreamName } from '../../core/stream-names.js';
import type { PublishGate } from './admission.js';
import type { PublishSecretStore } from './publish-secret-store.js';
import { publishAllowed, streamKey } from './publish-rules.js';

/** Only the engine's applications, and names every delivery server can serve. */
export function streamNameGate(apps: readonly string[]): PublishGate {
  return {
    name: 'stream name',
    async check(request) {
      if (!apps.includes(request.app)) throw new ForbiddenError(`publishing to app "${request.app}" is not allowed`);
      checkStreamName('stream', request.stream);
    },
  };
}

/** SRS Stack's publish secret; a live room's own secret is the only one accepted for its stream. */
export function publishSecretGate(secrets: PublishSecretStore): PublishGate {
  return {
    name: 'publish secret',
    async check(request) {
      // One Redis round trip for the three reads (the publish hook waits for them: docs/architecture.md, "How a publish flows").
      const [disabled, roomSecret, streamSecret] = await Promise.all([
        secrets.isAuthDisabled(),
        secrets.roomSecret(request.stream),
        secrets.get(),
      ]);
      if (disabled) return;
      const secret = roomSecret ?? streamSecret;
      if (!publishAllowed(request, secret)) {
        throw new ForbiddenError(`publish refused for ${streamKey(request.vhost, request.app, request.stream)}: wrong or missing secret`);
      }
    },
  };
}
