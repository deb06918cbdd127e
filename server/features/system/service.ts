// System-level API: versions, readiness, environment for the console, status, website, limits,
// and the live state of supervised children.
import fs from 'node:fs';
import type { Config } from '../../config.js';
import { NotReadyError, ValidationError } from '../../core/errors.js';
import type { RedisClient } from '../../core/redis.js';
import type { ChildState, Supervisor } from '../../core/process/supervisor.js';
import type { StorageProblem } from '../../core/views.js';
import type { PublishSecretStore } from '../live-streams/publish-secret-store.js';
import type { Limits, SystemStore } from './store.js';

export const MAX_BITRATE_LIMIT_KBPS = 1_000_000;
/** Below this, a segment copy or a remux is about to fail: warn before it does. */
const LOW_DISK_BYTES = 16 * 1024 * 1024;

export class SystemService {
  private readonly storageChecks: Array<() => Promise<StorageProblem | null>> = [];
  constructor(
    private readonly config: Config,
    readonly version: string,
    private readonly redis: RedisClient,
    private readonly store: SystemStore,
    private readonly publishSecrets: PublishSecretStore,
    private readonly supervisor: Supervisor,
  ) {}

  /** Runs on every Redis (re)connect: boot flags and the publish secret exist afterwards. */
  async onRedisReady(): Promise<void> {
    await this.publishSecrets.ensure();
    await this.store.markBooted({ cloud: 'BIN', region: '', source: 'local', registry: '', platform: 'srs-stack' });
  }

  versions(): { version: string } {
    return { version: this.version };
  }

  /** mgmt/check: fails with "Redis is not ready" until Redis answers and the boot keys exist. */
  async check(): Promise<{ upgrading: false }> {
    const notReady = new NotReadyError('Redis is not ready: the stack is still starting, retry in a few seconds');
    if (!(await this.redis.ping())) throw notReady;
    const [secret, booted] = await Promise.all([this.publishSecrets.get(), this.store.isBooted()]);
    if (!secret || !booted) throw notReady;
    return { upgrading: false };
  }

  async isReady(): Promise<boolean> {
    try {
      await this.check();
      return true;
    } catch {
      return false;
    }
  }

  async envs(locale: string | undefined): Promise<Record<string, unknown>> {
    if (locale !== undefined && this.redis.isReady) {
      await this.store.setLocale(locale === 'en' || locale === 'zh' ? locale : 'un');
    }
    const d = this.config.display;
    return {
      // SRS Stack's image reports both (its mgmt and platform share the one container), as does ours.
      mgmtDocker: this.config.inContainer,
      platformDocker: this.config.inContainer,
      candidate: false,
      rtmpPort: d.rtmpPort,
      httpPort: d.httpPort,
      srtPort: d.srtPort,
      rtcPort: d.rtcPort,
      forwardLimit: this.config.limits.forward,
      vLiveLimit: this.config.limits.vlive,
      cameraLimit: this.config.limits.camera,
    };
  }

  status(): Record<string, unknown> {
    const v = `v${this.version}`;
    // No remote release check: this product upgrades by re-running the installer (FAQ "How to Upgrade").
    return { version: v, releases: { version: v, stable: v, latest: v }, upgrading: false, strategy: 'manual' };
  }

  beian(): Promise<Record<string, string>> {
    return this.store.beian();
  }

  async updateBeian(field: string, text: string): Promise<void> {
    if (field !== 'icp' && field !== 'title') throw new ValidationError(`beian must be "icp" or "title", got "${field}"`);
    await this.store.setBeian(field, text);
  }

  limits(): Promise<Limits> {
    return this.store.limits();
  }

  async updateLimits(limits: Partial<Limits>): Promise<void> {
    const current = await this.store.limits();
    const next = { vlive: limits.vlive ?? current.vlive, camera: limits.camera ?? current.camera };
    for (const [k, v] of Object.entries(next)) {
      if (!Number.isInteger(v) || v <= 0 || v > MAX_BITRATE_LIMIT_KBPS) {
        throw new ValidationError(`invalid ${k} ${v}: a bitrate limit in Kbps between 1 and ${MAX_BITRATE_LIMIT_KBPS}`);
      }
    }
    await this.store.setLimits(next);
  }

  /** A feature's own warning (record retention's free-space threshold), asked after the stack's own problems. */
  addStorageCheck(check: () => Promise<StorageProblem | null>): void {
    this.storageChecks.push(check);
  }

  /** Why new data cannot be saved right now (a full disk), or soon will not be; or null. */
  async storageProblem(): Promise<StorageProblem | null> {
    const dir = this.config.dataDir;
    const stat = await fs.promises.statfs(dir).catch(() => null);
    const free = stat ? stat.bavail * stat.bsize : Number.POSITIVE_INFINITY;
    const freeMb = Number.isFinite(free) ? Math.floor(free / (1024 * 1024)) : -1;
    if (this.redis.isReady && (await this.redis.cannotSave())) return { kind: 'redis', dir, freeMb };
    if (free < LOW_DISK_BYTES) return { kind: 'disk', dir, freeMb };
    for (const check of this.storageChecks) {
      const problem = await check().catch(() => null);
      if (problem) return problem;
    }
    return null;
  }

  children(): ChildState[] {
    return this.supervisor.list();
  }
}
