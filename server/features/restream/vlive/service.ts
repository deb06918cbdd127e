// Virtual live (docs/compatibility.md §7): a slot plays a file in a loop, in real time, or relays a stream URL,
// to a platform or back into this stack. Sources arrive by upload, by server file (which must resolve
// inside the data directory) or by URL, and are validated with ffprobe before they are used.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { resolveInside } from '../../../core/data-dir.js';
import { NotFoundError, ValidationError } from '../../../core/errors.js';
import { heartbeatUrlOptions, vliveFileArgs, vliveStreamArgs } from '../../../core/ffmpeg/argv.js';
import { checkBitrate, checkCodecs, probe } from '../../../core/ffmpeg/probe.js';
import type { TaskPlan } from '../../../core/ffmpeg/tasks.js';
import { KEYS } from '../../../core/keys.js';
import { createLogger } from '../../../core/logger.js';
import { requireString, type Body } from '../../../core/validate.js';
import type { RestreamDeps } from '../deps.js';
import { SourceSlotService, blankSlot } from '../slot-service.js';
import { downloadVideo } from './downloader.js';
import { checkPlatform, decodeSlotBase, outputUrl, readSlotBase, slotSecrets, type SlotBase, type SlotKind } from '../slots.js';
import {
  checkMediaExtension,
  checkStreamUrl,
  decodeSourceFiles,
  fileInside,
  readSourceRequests,
  toSourceFile,
  type SourceFile,
} from '../sources.js';

const log = createLogger('vlive');

export interface VliveSlot extends SlotBase {
  files: SourceFile[];
}

export const VLIVE: SlotKind = { name: 'virtual live', marker: 'vlive-', limitKey: 'SRS_VLIVE_LIMIT' };

export class VliveService extends SourceSlotService<VliveSlot> {
  /** Downloads in flight (vlive/ytdl), each with what stops it; they may run for hours. */
  private readonly downloads = new Map<AbortController, Promise<unknown>>();

  constructor(deps: RestreamDeps) {
    super(deps, {
      kind: VLIVE,
      group: 'vlive',
      configKey: KEYS.VLIVE_CONFIG,
      taskKey: KEYS.VLIVE_TASK,
      limit: (d) => d.config.limits.vlive,
      decode: (v) => ({ ...decodeSlotBase(v), files: decodeSourceFiles(v.files) }),
    });
  }

  get dataDir(): string {
    return this.deps.paths.root;
  }

  protected blank(platform: string): VliveSlot {
    return { ...blankSlot(platform), files: [] };
  }

  /** `vlive/secret` update: the files must be ones `vlive/source` accepted (or stream URLs). */
  async update(body: Body): Promise<void> {
    const base = readSlotBase(body, VLIVE);
    const files = readSourceRequests(body.files).map((f) => {
      if (f.type === 'stream') return { ...f, target: checkStreamUrl(f.target) };
      if (!fileInside(this.dataDir, 'vlive', f.target)) {
        throw new ValidationError(`file ${f.target} is not a virtual-live source: choose it again through vlive/source`);
      }
      return f;
    });
    const previous = await this.store.get(base.platform);
    const known = new Map((previous?.files ?? []).map((f) => [f.target, f]));
    // Probe results come from vlive/source; the request's copy is trusted only for the target.
    await this.save({ ...base, files: files.map((f) => known.get(f.target) ?? toSourceFile(f, f.target, null)) });
    await this.removeUnused(previous?.files ?? []);
  }

  /**
   * `vlive/server`: a file already on the server. It must resolve inside the data directory after
   * following symlinks (SRS Stack only compared the string prefix `/data`, so `/data2/…` passed).
   * The file is linked (or copied across filesystems) into upload/, so the user's file stays theirs.
   */
  async serverFile(body: Body): Promise<{ name: string; uuid: string; target: string; size: number }> {
    const file = requireString(body, 'file', 4096).trim();
    const resolved = resolveInside(this.dataDir, file);
    if (!resolved) {
      throw new ValidationError(
        `file ${file} is outside the data directory ${this.dataDir}: put it under ${this.dataDir} (for example ${path.join(this.dataDir, 'my-upload', 'my-file.mp4')})`,
      );
    }
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(resolved);
    } catch {
      throw new NotFoundError(`file ${file} not found`);
    }
    if (!st.isFile()) throw new ValidationError(`${file} is not a regular file`);
    const ext = checkMediaExtension(resolved);
    const uuid = crypto.randomUUID();
    const dest = path.join(this.deps.paths.upload, `${uuid}${ext}`);
    try {
      await fs.promises.link(resolved, dest);
    } catch {
      await fs.promises.copyFile(resolved, dest, fs.constants.COPYFILE_FICLONE);
    }
    // A fresh mtime: the upload janitor measures its TTL from here, not from the original file.
    const now = new Date();
    await fs.promises.utimes(dest, now, now).catch(() => undefined);
    return { name: path.basename(file), uuid, target: `upload/${uuid}${ext}`, size: st.size };
  }

  /** `vlive/ytdl`: downloads the video of a web page into upload/, like an upload (see downloader.ts). */
  ytdl(body: Body): Promise<{ name: string; uuid: string; target: string; size: number }> {
    const { binaries, ytdlProxy, upload } = this.deps.config;
    const controller = new AbortController();
    const download = downloadVideo(requireString(body, 'url', 4096), {
      bin: binaries.ytdl,
      proxy: ytdlProxy,
      uploadDir: this.deps.paths.upload,
      maxBytes: upload.maxBytes,
      signal: controller.signal,
    });
    this.downloads.set(controller, download);
    const forget = () => this.downloads.delete(controller);
    download.then(forget, forget);
    return download;
  }

  /** Stops every download in flight; resolves once each has removed its partial file. */
  async stopDownloads(): Promise<void> {
    const inFlight = [...this.downloads];
    for (const [controller] of inFlight) controller.abort();
    await Promise.allSettled(inFlight.map(([, download]) => download));
  }

  /**
   * `vlive/source`: probes each file (15 s), refuses codecs the relay cannot copy and bitrates over
   * the limit, moves accepted files from upload/ to vlive/, and makes them the slot's source.
   */
  async source(body: Body): Promise<{ platform: string; files: SourceFile[] }> {
    const platform = checkPlatform(requireString(body, 'platform', 64), VLIVE);
    const requests = readSourceRequests(body.files);
    const uploads: string[] = [];
    try {
      const { vlive: limitKbps } = await this.deps.limits();
      const accepted: Array<{ file: SourceFile; from: string | null }> = [];
      for (const req of requests) {
        let target: string;
        let from: string | null = null;
        if (req.type === 'stream') {
          target = checkStreamUrl(req.target);
          await this.untilStackStreamPlays(target);
        } else {
          from = fileInside(this.dataDir, 'upload', req.target);
          if (!from) throw new ValidationError(`file ${req.target} not found in upload/: upload it or choose a server file first`);
          uploads.push(from);
          target = from;
        }
        const result = await probe(this.deps.config.binaries.ffprobe, heartbeatUrlOptions(target).url);
        checkBitrate(result, limitKbps);
        checkCodecs(result);
        const stored = from ? `vlive/${req.uuid}${path.extname(from).toLowerCase()}` : target;
        accepted.push({ file: toSourceFile(req, stored, result), from });
      }
      await this.store.checkCapacity(platform, this.limit, VLIVE);
      await this.checkSources(
        platform,
        accepted.map((a) => a.file),
      );
      for (const { file, from } of accepted) if (from) await fs.promises.rename(from, path.join(this.dataDir, file.target));
      const files = accepted.map((a) => a.file);
      await this.removeUnused(await this.setFiles(platform, files));
      return { platform, files };
    } finally {
      // Whatever was not accepted is of no use: SRS Stack removes the request's temp files too.
      for (const f of uploads) await fs.promises.rm(f, { force: true });
    }
  }

  async plans(): Promise<TaskPlan[]> {
    const plans: TaskPlan[] = [];
    for (const slot of await this.store.all()) {
      const file = slot.files[0];
      if (!slot.enabled || !slot.server || !file) continue;
      const output = outputUrl(slot, this.deps.config.rtmpListen);
      const common = { id: slot.platform, secrets: slotSecrets(slot), output, source: file.name || file.uuid };
      if (file.type === 'stream') {
        const { url, maxRunMs, abnormalFastSpeed } = heartbeatUrlOptions(file.target);
        plans.push({ ...common, input: url, maxRunMs, abnormalFastSpeed, args: vliveStreamArgs(url, output) });
      } else {
        const input = fileInside(this.dataDir, 'vlive', file.target);
        if (!input) {
          log.warn(`${slot.platform}: source file ${file.target} is missing, not starting`);
          continue;
        }
        plans.push({ ...common, input, args: vliveFileArgs(input, output) });
      }
    }
    return plans;
  }

  /** Deletes a slot's previous files once no slot (itself included, as now stored) uses them. */
  private async removeUnused(previous: readonly SourceFile[]): Promise<void> {
    const keep = new Set<string>();
    for (const slot of await this.store.all()) for (const f of slot.files) keep.add(f.target);
    for (const f of previous) {
      if (f.type === 'stream' || keep.has(f.target)) continue;
      const file = fileInside(this.dataDir, 'vlive', f.target);
      if (file) await fs.promises.rm(file, { force: true });
    }
  }
}
