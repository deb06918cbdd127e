// Live rooms under SRS Stack's key SRS_LIVE_ROOM (room UUID → room JSON, docs/compatibility.md §3.8).
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';
import { storedObject } from './stored-json.js';

export interface LiveRoom {
  uuid: string;
  title: string;
  /** The room's own stream name (12 lowercase hex characters when generated). */
  stream: string;
  /** The room's own publish secret: the only one accepted for its stream. */
  secret: string;
  roomToken: string;
  created_at: string;
  stage_uuid: string;
}

export function parseLiveRoom(raw: string): LiveRoom | null {
  const s = storedObject(raw);
  if (!s) return null;
  if (!s('uuid') || !s('stream')) return null;
  return {
    uuid: s('uuid'),
    title: s('title'),
    stream: s('stream'),
    secret: s('secret'),
    roomToken: s('roomToken'),
    created_at: s('created_at'),
    stage_uuid: s('stage_uuid'),
  };
}

export class LiveRoomStore {
  /** `rulesChanged`: a room's secret lives in SRS_AUTH_SECRET, which the publish gate keeps in memory (PublishSecretStore). */
  constructor(
    private readonly redis: RedisClient,
    private readonly rulesChanged: () => void = () => undefined,
  ) {}

  async get(uuid: string): Promise<LiveRoom | null> {
    const raw = await this.redis.redis.hget(KEYS.LIVE_ROOM, uuid);
    return raw === null ? null : parseLiveRoom(raw);
  }

  async list(): Promise<LiveRoom[]> {
    const rooms = await this.redis.hashValues(KEYS.LIVE_ROOM, parseLiveRoom);
    return rooms.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Stores the room and its publish secret together (SRS_AUTH_SECRET room-pub-{stream}). */
  async put(room: LiveRoom, previousStream?: string): Promise<void> {
    const tx = this.redis.redis.multi().hset(KEYS.LIVE_ROOM, room.uuid, JSON.stringify(room));
    if (previousStream && previousStream !== room.stream) tx.hdel(KEYS.AUTH_SECRET, `room-pub-${previousStream}`);
    tx.hset(KEYS.AUTH_SECRET, `room-pub-${room.stream}`, room.secret);
    await tx.exec();
    this.rulesChanged();
  }

  async remove(room: LiveRoom): Promise<void> {
    await this.redis.redis.multi().hdel(KEYS.LIVE_ROOM, room.uuid).hdel(KEYS.AUTH_SECRET, `room-pub-${room.stream}`).exec();
    this.rulesChanged();
  }
}
