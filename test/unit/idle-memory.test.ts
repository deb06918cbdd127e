// core/idle-memory.ts: the young generation stays at its initial size while held, and grows again
// once released; glibc accepts the malloc arena cap. In a fresh node, whose young generation has
// not grown yet (this mocha process's has).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/stack.js';

const MODULE = pathToFileURL(path.join(ROOT, 'dist', 'server', 'core', 'idle-memory.js')).href;

// Allocates 40 MB of objects a third of which survive (as a boot's do), then reports the young
// generation's size in MB: before any hold, held, and released.
const PROBE = `
import v8 from 'node:v8';
import { capMallocArenas, holdYoungGenerationWhileBooting } from '${MODULE}';
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
const survive = (keep) => { for (let i = 0; i < 1e6; i++) { const o = { i, s: 'x' + i }; if (i % 3 === 0) keep.push(o); } };
const arenas = capMallocArenas();
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
    assert.equal(out.arenas, '', 'glibc takes M_ARENA_MAX');
  });
});
