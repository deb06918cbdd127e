// Live rooms (docs/compatibility.md §3.8, without the AI assistant): each room has its own stream name and
// publish secret, so a streamer can be handed a key without the admin password or the global secret.
import crypto from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import { registerSecret } from '../../core/logger.js';
import { streamNameProblem } from '../../core/stream-names.js';
import { PUBLISH_SECRET_PATTERN } from './publish-secrets.js';
import type { LiveRoom, LiveRoomStore } from './live-room-store.js';

export const MAX_ROOM_TITLE = 256;
/** A room's stream goes into the share links people type: shorter than any stream may be. */
const MAX_ROOM_STREAM = 128;

export class LiveRoomService {
  constructor(private readonly store: LiveRoomStore) {}

  /** Room secrets are masked in every log line, like the global one. */
  async onRedisReady(): Promise<void> {
    for (const room of await this.store.list()) registerSecret(room.secret);
  }

  async create(title: string): Promise<LiveRoom> {
    const room: LiveRoom = {
      uuid: crypto.randomUUID(),
      title: checkTitle(title),
      stream: crypto.randomBytes(6).toString('hex'),
      secret: crypto.randomBytes(8).toString('hex').toUpperCase(),
      roomToken: crypto.randomUUID(),
      created_at: new Date().toISOString(),
      stage_uuid: crypto.randomUUID(),
    };
    registerSecret(room.secret);
    await this.store.put(room);
    return room;
  }

  async get(uuid: string): Promise<LiveRoom> {
    const room = await this.store.get(uuid);
    if (!room) throw new NotFoundError(`live room ${uuid} not exists`);
    return room;
  }

  async list(): Promise<LiveRoom[]> {
    return this.store.list();
  }

  /** Replaces the room (SRS Stack overwrites, no merge); its stream and secret may change. */
  async update(next: LiveRoom): Promise<LiveRoom> {
    const current = await this.get(next.uuid);
    const problem = next.stream.length > MAX_ROOM_STREAM ? `too long (max ${MAX_ROOM_STREAM} characters)` : streamNameProblem(next.stream);
    if (problem) throw new ValidationError(`invalid stream name "${next.stream.slice(0, 40)}": ${problem}`);
    if (!PUBLISH_SECRET_PATTERN.test(next.secret)) throw new ValidationError('secret must be 1 to 128 letters, digits, or . _ ~ -');
    if (next.stream !== current.stream && (await this.store.list()).some((r) => r.stream === next.stream)) {
      throw new ConflictError(`stream ${next.stream} already belongs to another live room`);
    }
    const room: LiveRoom = {
      ...next,
      title: checkTitle(next.title),
      roomToken: next.roomToken || current.roomToken,
      created_at: current.created_at,
      stage_uuid: next.stage_uuid || current.stage_uuid,
    };
    registerSecret(room.secret);
    await this.store.put(room, current.stream);
    return room;
  }

  async remove(uuid: string): Promise<void> {
    await this.store.remove(await this.get(uuid));
  }
}

function checkTitle(title: string): string {
  if (title.length > MAX_ROOM_TITLE) throw new ValidationError(`title is too long (max ${MAX_ROOM_TITLE} characters)`);
  return title;
}
