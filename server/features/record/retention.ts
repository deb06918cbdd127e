// Retention and the disk guard (issue 19, docs/compatibility.md §13a, ours): which finished records to
// delete so the library stays within N days, N GB and N % of the disk, oldest first, and whether
// the data disk is low enough to warn. Pure functions of the records, the policy, the disk and the
// time, so unit tests drive them with a fake clock. A record that is recording or finishing is
// never chosen: it is still being written, and deleting it would lose the show on air.
import { ValidationError } from '../../core/errors.js';

export interface RetentionPolicy {
  /** Delete finished records older than this many days; 0: no age limit. */
  days: number;
  /** Keep the records' bytes at most this many GB (1024³ bytes); 0: no limit. */
  maxGb: number;
  /** Keep the records' bytes at most this percentage of the data disk's size; 0: no limit. */
  maxPercent: number;
  /** Warn (every console page, the on_disk_low callback) when the disk's free space falls under this many MB; 0: off. */
  warnFreeMb: number;
  /**
   * Live timeshift: how far back viewers of a live stream can seek (/{app}/{stream}/dvr.m3u8,
   * features/timeshift), and of a record still recording in the console; 0: off (no stream has a
   * DVR playlist, nothing is kept for it; a record in progress still plays from its start).
   */
  timeshiftMinutes: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { days: 0, maxGb: 0, maxPercent: 0, warnFreeMb: 1024, timeshiftMinutes: 0 };

const LIMITS: Record<keyof RetentionPolicy, number> = {
  days: 36_500,
  maxGb: 1_000_000,
  maxPercent: 100,
  warnFreeMb: 100_000_000,
  timeshiftMinutes: 7 * 24 * 60,
};

/** Checks a (partial) policy from the API or a form; a bad value is refused with its name and range. */
export function validateRetention(current: RetentionPolicy, changes: Partial<Record<keyof RetentionPolicy, unknown>>): RetentionPolicy {
  const next = { ...current };
  for (const key of Object.keys(LIMITS) as Array<keyof RetentionPolicy>) {
    const value = changes[key];
    if (value === undefined) continue;
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > LIMITS[key]) {
      throw new ValidationError(`${key} must be a number from 0 (off) to ${LIMITS[key]}, got ${JSON.stringify(value)}`);
    }
    next[key] = n;
  }
  return next;
}

/** What the planner needs of a record. */
export interface RetainedRecord {
  uuid: string;
  /** RFC3339: when the record began (its age is counted from its end, `update`). */
  begin: string;
  update: string;
  status: 'recording' | 'finishing' | 'done';
  /** Bytes on disk: segments plus the MP4. */
  bytes: number;
}

export interface DiskSpace {
  totalBytes: number;
  freeBytes: number;
}

export interface RetentionPlan {
  /** Records to delete, oldest first, each with why. */
  remove: Array<{ uuid: string; reason: 'age' | 'size' | 'percent' }>;
  /** Bytes the kept records take after the plan. */
  keptBytes: number;
}

const GB = 1024 * 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
const ms = (t: string) => Date.parse(t) || 0;

export function oldestFirst(a: RetainedRecord, b: RetainedRecord): number {
  return ms(a.begin || a.update) - ms(b.begin || b.update) || ms(a.update) - ms(b.update) || a.uuid.localeCompare(b.uuid);
}

/**
 * The records to delete now. Age first: every finished record that ended more than `days` ago. Then
 * size: while all records (live ones count, they take the space) exceed the GB or the percentage
 * limit, the oldest finished one goes. The live records are never removed, even when they alone
 * exceed a limit.
 */
export function planRetention(records: RetainedRecord[], policy: RetentionPolicy, nowMs: number, disk: DiskSpace | null): RetentionPlan {
  const remove: RetentionPlan['remove'] = [];
  let total = records.reduce((s, r) => s + r.bytes, 0);
  const candidates = records.filter((r) => r.status === 'done').sort(oldestFirst);
  const kept: RetainedRecord[] = [];
  for (const r of candidates) {
    if (policy.days > 0 && nowMs - ms(r.update || r.begin) > policy.days * DAY_MS) {
      remove.push({ uuid: r.uuid, reason: 'age' });
      total -= r.bytes;
    } else {
      kept.push(r);
    }
  }
  const limits: Array<{ bytes: number; reason: 'size' | 'percent' }> = [];
  if (policy.maxGb > 0) limits.push({ bytes: policy.maxGb * GB, reason: 'size' });
  if (policy.maxPercent > 0 && disk && disk.totalBytes > 0)
    limits.push({ bytes: (disk.totalBytes * policy.maxPercent) / 100, reason: 'percent' });
  for (const r of kept) {
    const over = limits.find((l) => total > l.bytes);
    if (!over) break;
    remove.push({ uuid: r.uuid, reason: over.reason });
    total -= r.bytes;
  }
  return { remove, keptBytes: total };
}

/** Whether the disk is under the warning threshold: free space below `warnFreeMb`. */
export function diskIsLow(disk: DiskSpace | null, policy: RetentionPolicy): boolean {
  return !!disk && policy.warnFreeMb > 0 && disk.freeBytes < policy.warnFreeMb * 1024 * 1024;
}

/**
 * The disk guard's edge: the callback goes out once when the disk becomes low, and again only after
 * it recovered in between, so a receiver is not flooded every check.
 */
export function lowDiskTransition(wasLow: boolean, isLow: boolean): 'warn' | 'recovered' | null {
  if (isLow && !wasLow) return 'warn';
  if (!isLow && wasLow) return 'recovered';
  return null;
}
