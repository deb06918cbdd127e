// The publish secret as the API and console manage it (docs/compatibility.md §2.5): read, replace, and the
// pubNoAuth switch. The secret gate (gates.ts) reads the same store at every publish.
import { NotReadyError, ValidationError } from '../../core/errors.js';
import { registerSecret } from '../../core/logger.js';
import type { PublishSecretStore } from './publish-secret-store.js';

export const PUBLISH_SECRET_PATTERN = /^[\w.~-]{1,128}$/;

export class PublishSecrets {
  constructor(private readonly store: PublishSecretStore) {}

  /** The secret is masked in every log line. */
  async onRedisReady(): Promise<void> {
    registerSecret(await this.store.get());
  }

  async current(): Promise<{ publish: string }> {
    const secret = await this.store.get();
    if (!secret) throw new NotReadyError('system not boot yet: the publish secret is created at first boot');
    return { publish: secret };
  }

  async update(secret: string): Promise<void> {
    if (!PUBLISH_SECRET_PATTERN.test(secret)) {
      throw new ValidationError('secret must be 1 to 128 letters, digits, or . _ ~ - (it goes into publish URLs)');
    }
    registerSecret(secret);
    // Publishers already live keep going, as in SRS Stack; the new secret applies to the next publish.
    await this.store.set(secret);
  }

  setAuthDisabled(disabled: boolean): Promise<void> {
    return this.store.setAuthDisabled(disabled);
  }

  isAuthDisabled(): Promise<boolean> {
    return this.store.isAuthDisabled();
  }
}
