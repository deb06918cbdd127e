// What the stack's own thread loads at boot (docs/architecture.md, "Memory at idle"): a library only
// some requests need is imported by the first of them, not held by every idle stack. In a fresh node
// that imports the whole program (app.js, as main.ts does) with every module it loads written down.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/stack.js';

const TRACE = path.join(ROOT, 'dist', 'test', 'helpers', 'module-trace.js');
const APP = pathToFileURL(path.join(ROOT, 'dist', 'server', 'app.js')).href;

function modulesLoadedBy(source: string): string[] {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'boot-modules-')), 'modules.txt');
  fs.writeFileSync(out, '');
  execFileSync(process.execPath, ['--import', pathToFileURL(TRACE).href, '--input-type=module', '-e', source], {
    env: { ...process.env, MODULE_TRACE_OUT: out },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return [...new Set(fs.readFileSync(out, 'utf8').split('\n').filter(Boolean))];
}

const inPackage = (modules: string[], name: string) => modules.filter((m) => m.includes(`/node_modules/${name}/`));

describe('modules loaded at boot (the stack program imported)', function () {
  this.timeout(30_000);
  let modules: string[];
  before(() => {
    modules = modulesLoadedBy(`await import(${JSON.stringify(APP)});`);
  });

  it('traces both kinds of module (the trace itself works)', () => {
    assert.ok(
      modules.some((m) => m.endsWith('/dist/server/app.js')),
      'the program itself',
    );
    assert.ok(inPackage(modules, 'koa').length > 0, 'koa (CommonJS, imported from ESM)');
    assert.ok(inPackage(modules, 'ioredis').length > 5, "ioredis's own requires");
  });

  it('does not load jose until a token is signed or checked', () => {
    assert.deepEqual(inPackage(modules, 'jose'), []);
  });

  it("does not load the record writers' muxer in the stack's thread", () => {
    assert.deepEqual(
      modules.filter((m) => /live-mp4-(worker|muxer)\.js$|\/mux\.js\/cjs\/(mp4\/transmuxer|m2ts\/)/.test(m)),
      [],
    );
  });

  it('parses the MIME database once', () => {
    assert.deepEqual(
      modules.filter((m) => m.endsWith('/mime-db/db.json')).map((m) => m.slice(m.indexOf('/node_modules/'))),
      ['/node_modules/mime-db/db.json'],
    );
  });

  it('loads jose once a token is signed', () => {
    const jwt = pathToFileURL(path.join(ROOT, 'dist', 'server', 'features', 'auth', 'jwt.js')).href;
    const after = modulesLoadedBy(`const { signToken } = await import(${JSON.stringify(jwt)}); await signToken('secret');`);
    assert.ok(inPackage(after, 'jose').length > 0);
  });
});
