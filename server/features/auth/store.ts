// Where auth state lives: the API secret in Redis (SRS Stack's SRS_PLATFORM_SECRET hash) and the
// admin password hash in a 0600 file under <data>/config, so a lost Redis never locks the admin out.
import fs from 'node:fs';
import path from 'node:path';
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';

export class AuthStore {
  readonly passwordFile: string;

  constructor(
    private readonly redis: RedisClient,
    configDir: string,
  ) {
    this.passwordFile = path.join(configDir, 'mgmt-password.hash');
  }

  async readApiSecret(): Promise<string> {
    return (await this.redis.redis.hget(KEYS.PLATFORM_SECRET, 'token')) ?? '';
  }

  /** Sets the secret only if none exists; returns the secret in force. */
  async initApiSecret(candidate: string): Promise<string> {
    const r = this.redis.redis;
    const created = await r.hsetnx(KEYS.PLATFORM_SECRET, 'token', candidate);
    if (created) await r.hset(KEYS.PLATFORM_SECRET, 'update', new Date().toISOString());
    return (await r.hget(KEYS.PLATFORM_SECRET, 'token')) ?? candidate;
  }

  readPasswordHash(): string | null {
    try {
      return fs.readFileSync(this.passwordFile, 'utf8').trim() || null;
    } catch {
      return null;
    }
  }

  /** Writes atomically so a crash never leaves a half-written hash. */
  writePasswordHash(hash: string): void {
    const tmp = `${this.passwordFile}.tmp`;
    fs.writeFileSync(tmp, `${hash}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.passwordFile);
  }
}
