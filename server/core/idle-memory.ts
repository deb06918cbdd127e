// What keeps the idle stack's memory down (docs/architecture.md, "Memory at idle"): the young
// generation held while booting, one compacting GC once up, glibc's malloc settings (arenas capped,
// fixed thresholds) and what malloc holds free given back after the boot and every 30 s. All of it lives here, inside the program, so every way of launching it (the systemd unit,
// the container, the panel plugins, `npm start`, the tests and benches) runs with it and no
// launcher needs node flags or environment of its own.
import v8 from 'node:v8';
import vm from 'node:vm';
import { libc, type Libc } from './libc.js';

/** V8's default `--semi-space-growth-factor` (node 20, V8 11.3: `node --v8-options`). */
export const V8_SEMI_SPACE_GROWTH_FACTOR = 2;

/**
 * Keeps the young generation at its initial size until the returned function is called.
 *
 * V8 grows the young generation (two semi-spaces, 1 MB each at first, up to 16 MB each) when most
 * of what it allocates survives a scavenge. While booting nearly everything survives (module
 * sources, route tables, dictionaries, the services), so the young generation grew to its 32 MB
 * maximum only to have its survivors copied out to the old generation, and stayed resident until
 * V8's memory reducer shrank it a minute or so later: 20 MB of the RSS just after start. A growth
 * factor of 1 while booting keeps it at its initial size; once the stack is up, V8's default
 * applies again, so under load the young generation grows exactly as before. V8 reads this flag
 * whenever it considers growing, so it can change at run time (node keeps V8's flags writable for
 * v8.setFlagsFromString).
 */
export function holdYoungGenerationWhileBooting(): () => void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  return () => v8.setFlagsFromString(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`);
}

/** glibc's mallopt parameters (malloc.h). */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
const M_ARENA_MAX = -8;
/** At most this many malloc arenas (glibc's default: 8 per core). */
export const MALLOC_ARENAS = 2;
/** Blocks from this size up are mapped on their own and unmapped when freed. */
export const MALLOC_MMAP_THRESHOLD = 4 * 1024 * 1024;
/** Free memory at an arena's top kept for reuse up to this size (glibc raises it to 32 MB itself). */
export const MALLOC_TRIM_THRESHOLD = 32 * 1024 * 1024;

/**
 * glibc's malloc settings for the stack, called before the program loads. Returns why they could
 * not be set (not glibc: they do not apply), or '' once set.
 *
 * - Arenas capped at 2, as MALLOC_ARENA_MAX=2 in the environment would: every thread that allocates
 *   (V8's compiler and GC helpers, libuv's pool, libsrt's and libdatachannel's threads) otherwise
 *   gets an arena of its own, and what a thread frees stays in its arena.
 * - A fixed mmap threshold of 4 MB. glibc's own threshold rises to the size of any mapped block
 *   that is freed (up to 32 MB), and from then on blocks that size came from an arena and stayed
 *   there once freed, where malloc_trim cannot always reach them (the free top of a thread's arena):
 *   every login's scrypt (16 MB of work memory, in libuv's pool) kept its 16 MB for good. Fixed,
 *   such blocks are always mapped and given back when freed. Setting it stops glibc's adjusting, so
 *   the trim threshold is set to what glibc would have raised it to.
 */
export function setMallocPolicy(): string {
  try {
    const { mallopt } = libc();
    const refused = [
      ['M_ARENA_MAX', mallopt(M_ARENA_MAX, MALLOC_ARENAS)],
      ['M_MMAP_THRESHOLD', mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)],
      ['M_TRIM_THRESHOLD', mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)],
    ].filter(([, ok]) => ok !== 1);
    return refused.length ? `mallopt refused ${refused.map(([name]) => name).join(', ')}` : '';
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Gives the memory malloc holds free back to the system (glibc's malloc_trim): called once the
 * stack is up. The boot frees much of what it mallocs (V8's compilations of some 600 modules, the
 * modules' loading), and glibc keeps freed memory for reuse: 7 MB of the idle stack's RSS. Later
 * allocations get it back from the system as they need it. No effect (and no error) without glibc.
 */
export function releaseFreedMalloc(): void {
  try {
    libc().malloc_trim(0);
  } catch {
    /* not glibc: setMallocPolicy said so at start */
  }
}

/** How often what malloc holds free is given back while the stack runs (trimFreedMallocEvery). */
export const MALLOC_TRIM_EVERY_MS = 30_000;

/**
 * Gives what malloc holds free back to the system every `everyMs` for the life of the process
 * (returns the stop function; the timer never holds the process). glibc raises its mmap threshold
 * whenever a large block it had mapped is freed (up to 32 MB), so under load the Buffers of segments
 * and tags come from its arenas, and once freed they stay there: two minutes after a minute of 20
 * recorded streams and 260 viewers, the stack was 218 MB RSS with a 20 MB V8 heap and no Buffer left
 * (docs/architecture.md, "Memory at idle"). The trim runs on a thread of libuv's pool: with little
 * to give back it takes under 0.1 ms, giving back 90 MB about 9 ms, which the event loop (serving
 * players and the publish hook) does not wait for.
 */
export function trimFreedMallocEvery(everyMs = MALLOC_TRIM_EVERY_MS): () => void {
  let trim: Libc['malloc_trim_in_background'];
  try {
    trim = libc().malloc_trim_in_background;
  } catch {
    return () => undefined; // not glibc: setMallocPolicy said so at start
  }
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    trim(0, () => (running = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * One full garbage collection, compacting, once the stack is up (returns how long it took, ms).
 * The old generation keeps what the boot left (module wrappers, parsed sources, the boot's
 * promises) spread over half-empty pages until a GC that compacts: V8's memory reducer makes one by
 * itself, but only 8 to 10 s after the boot, and until then the stack was 87–88 MB RSS, 81–82 MB
 * after this (docs/architecture.md, "Memory at idle"). `gc` exists only in a context made while
 * --expose-gc is set, so the flag is on for the time it takes to make one (a context of its own,
 * never the program's globals), and compaction is forced for this one collection only.
 */
export function collectBootGarbage(): number {
  const started = performance.now();
  v8.setFlagsFromString('--expose-gc');
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
    v8.setFlagsFromString('--no-expose-gc');
  }
  return performance.now() - started;
}
