// Where auth state lives: the API secret in Redis (SRS Stack's SRS_PLATFORM_SECRET hash) and the
// admin password hash in a file (password-file.ts).
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';
import { passwordFilePath, readPasswordHash, writePasswordHash } from './password-file.js';

export class AuthStore {
  readonly passwordFile: string;

  constructor(
    private readonly redis: RedisClient,
    configDir: string,
  ) {
    this.passwordFile = passwordFilePath(configDir);
  }

  /** Sets the secret only if none exists; returns the secret in force. */
  async initApiSecret(candidate: string): Promise<string> {
    const r = this.redis.redis;
    const created = await r.hsetnx(KEYS.PLATFORM_SECRET, 'token', candidate);
    if (created) await r.hset(KEYS.PLATFORM_SECRET, 'update', new Date().toISOString());
    return (await r.hget(KEYS.PLATFORM_SECRET, 'token')) ?? candidate;
  }

  readPasswordHash(): string | null {
    return readPasswordHash(this.passwordFile);
  }

  writePasswordHash(hash: string): void {
    writePasswordHash(this.passwordFile, hash);
  }
}
