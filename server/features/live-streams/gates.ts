// The stack's own admission gates (docs/architecture.md, "How a publish flows"). The composition
// root puts them in order, with the user's HTTP callback last: a publish with a wrong secret never
// reaches the user's receiver.
import { ForbiddenError } from '../../core/errors.js';
import { checkStreamName } from '../../core/stream-names.js';
import type { PublishGate } from './admission.js';
import type { PublishSecretStore } from './publish-secret-store.js';
import { publishAllowed, secretFor, streamKey } from './publish-rules.js';

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
      // From memory once loaded: the publish hook waits for no Redis round trip (docs/architecture.md, "How a publish flows").
      const rules = await secrets.snapshot();
      if (rules.authDisabled) return;
      if (!publishAllowed(request, secretFor(rules, request.stream))) {
        throw new ForbiddenError(`publish refused for ${streamKey(request.vhost, request.app, request.stream)}: wrong or missing secret`);
      }
    },
  };
}
