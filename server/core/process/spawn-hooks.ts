// Work that must happen right before any child process is spawned, whoever spawns it (the
// supervisor and runOnce are the only two places that do). Generic: it names no child and no
// feature. The WebRTC ingest registers one: its native library opens sockets without
// close-on-exec, which every child would otherwise inherit (see cloexec.ts).
import { createLogger } from '../logger.js';

const log = createLogger('spawn');

type Hook = () => void;
const hooks = new Map<string, Hook>();

/** Registers (or replaces) a hook by name; returns its removal. */
export function addSpawnHook(name: string, hook: Hook): () => void {
  hooks.set(name, hook);
  return () => {
    if (hooks.get(name) === hook) hooks.delete(name);
  };
}

/** Runs every hook; a failing hook is logged and never stops the spawn. */
export function runSpawnHooks(): void {
  for (const [name, hook] of hooks) {
    try {
      hook();
    } catch (err) {
      log.warn(`spawn hook ${name} failed`, err);
    }
  }
}
