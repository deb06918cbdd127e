// core/idle-memory.ts: the young generation stays at its initial size while held, and grows again
// once released; glibc accepts the malloc arena cap. In a fresh node, whose young generation has
// not grown yet (this mocha process's has).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/stack.js';

const MODULE = pathToFileURL(path.join(ROOT, 'dist', 'server', 'core', 'idle-memory.js')).href;
/** For the probes: `anon()`, the probe's anonymous RSS in MB (its own memory, not files it maps). */
const ANON_RSS_MB = "const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;";
const PASSWORD = pathToFileURL(path.join(ROOT, 'dist', 'server', 'features', 'auth', 'password.js')).href;

// Allocates 40 MB of objects a third of which survive (as a boot's do), then reports the young
// generation's size in MB: before any hold, held, and released.
const PROBE = `
import v8 from 'node:v8';
import { setMallocPolicy, holdYoungGenerationWhileBooting } from '${MODULE}';
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
const survive = (keep) => { for (let i = 0; i < 1e6; i++) { const o = { i, s: 'x' + i }; if (i % 3 === 0) keep.push(o); } };
const arenas = setMallocPolicy();
const release = holdYoungGenerationWhileBooting();
const keep = [];
survive(keep);
const held = young();
release();
survive(keep);
survive(keep);
process.stdout.write(JSON.stringify({ arenas, held, released: young(), kept: keep.length }));
`;

describe('idle memory settings (core/idle-memory.ts)', () => {
  it('holds the young generation at its initial size while booting, and lets it grow after', () => {
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', PROBE], { encoding: 'utf8' })) as {
      arenas: string;
      held: number;
      released: number;
    };
    assert.ok(out.held <= 2, `held young generation ${out.held} MB`);
    assert.ok(out.released > out.held, `released young generation ${out.released} MB, held ${out.held} MB`);
    assert.equal(out.arenas, '', 'glibc takes M_ARENA_MAX and the thresholds');
  });

  it('gives back the half-empty pages of the old generation once up, without leaving gc() to the program', () => {
    // Old objects with holes (a boot's leftovers): kept long enough to be promoted, then every
    // other one dropped. A plain major GC leaves the holes in place; a compacting one gives back pages.
    const probe = `
import v8 from 'node:v8';
import vm from 'node:vm';
import { collectBootGarbage } from '${MODULE}';
const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size / 1048576;
let keep = [];
for (let i = 0; i < 400000; i++) keep.push({ i, s: 'x' + i, pad: [i, i + 1, i + 2] });
await new Promise((r) => setTimeout(r, 50));
for (let round = 0; round < 3; round++) { const t = []; for (let i = 0; i < 200000; i++) t.push({ i }); }
keep = keep.filter((_, i) => i % 8 === 0);
const before = old();
const ms = collectBootGarbage();
process.stdout.write(JSON.stringify({ before, after: old(), ms, kept: keep.length, gcInProgram: typeof globalThis.gc, gcInNewContext: vm.runInNewContext('typeof gc') }));
`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' })) as {
      before: number;
      after: number;
      ms: number;
      gcInProgram: string;
      gcInNewContext: string;
    };
    assert.ok(out.after < out.before * 0.6, `old generation ${out.before.toFixed(1)} MB → ${out.after.toFixed(1)} MB`);
    assert.ok(out.ms > 0);
    assert.equal(out.gcInProgram, 'undefined');
    assert.equal(out.gcInNewContext, 'undefined', 'the --expose-gc flag is off again');
  });

  it("gives back the 16 MB a password check's scrypt worked in", () => {
    // With the stack's malloc settings: the anonymous RSS before and after three checks through
    // features/auth/password.ts (with glibc's own settings they kept 16–48 MB, depending on which
    // arena each landed in).
    const probe = `
import fs from 'node:fs';
import { setMallocPolicy } from '${MODULE}';
setMallocPolicy();
const { hashPassword, verifyPassword } = await import('${PASSWORD}');
${ANON_RSS_MB}
const stored = await hashPassword('first');
const start = anon();
for (let i = 0; i < 3; i++) await verifyPassword('wrong' + i, stored);
process.stdout.write(JSON.stringify({ checks: anon() - start }));
`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' })) as {
      checks: number;
    };
    assert.ok(out.checks < 6, `password checks kept ${out.checks.toFixed(1)} MB`);
  });

  it('gives what malloc holds free back to the system while the process runs', () => {
    // A first large block freed raises glibc's mmap threshold; the blocks after it come from the
    // arena, and with every tenth kept, what was freed is spread between them (no free top to trim).
    // The anonymous RSS after freeing them, then once the periodic trim has run.
    const probe = `
import fs from 'node:fs';
import { setMallocPolicy, trimFreedMallocEvery } from '${MODULE}';
setMallocPolicy();
${ANON_RSS_MB}
let first = Buffer.allocUnsafeSlow(4 << 20).fill(1);
first = null;
globalThis.gc();
let blocks = Array.from({ length: 200 }, () => Buffer.allocUnsafeSlow(512 << 10).fill(1));
const kept = blocks.filter((_, i) => i % 10 === 9);
blocks = null;
globalThis.gc();
await new Promise((r) => setTimeout(r, 100));
const freed = anon();
const stop = trimFreedMallocEvery(50);
await new Promise((r) => setTimeout(r, 300));
stop();
process.stdout.write(JSON.stringify({ freed, trimmed: anon(), kept: kept.length }));
`;
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', probe], { encoding: 'utf8' })) as {
      freed: number;
      trimmed: number;
    };
    assert.ok(out.freed - out.trimmed > 50, `anonymous RSS ${out.freed.toFixed(1)} MB freed → ${out.trimmed.toFixed(1)} MB trimmed`);
  });
});
