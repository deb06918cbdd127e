import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { redisSocketPath, renderRedisConf } from '../../server/core/embedded-redis.js';
import { InsufficientStorageError, storageFailure } from '../../server/core/errors.js';
import { safeBack } from '../../server/core/http.js';
import { loadDictionaries, translator } from '../../server/core/i18n.js';
import { maskSecrets, registerSecret } from '../../server/core/logger.js';
import { safeJoin } from '../../server/core/static-files.js';
import { backoffDelay } from '../../server/core/backoff.js';
import { asBody, optionalBoolean, optionalInteger, requireString } from '../../server/core/validate.js';
import { ROOT } from '../helpers/stack.js';

describe('supervisor backoff', () => {
  it('doubles from the initial delay and never exceeds the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 10, 100].map((n) => backoffDelay(n, 500, 30_000)),
      [500, 1000, 2000, 4000, 30_000, 30_000],
    );
  });
});

describe('secret masking', () => {
  it('masks secret= values, bearer tokens, API secrets and registered secrets', () => {
    registerSecret('hunter2-secret');
    const line = 'rtmp://h/live/s?secret=abc123&x=1 Bearer srs-v2-0123456789abcdef0123456789abcdef pw hunter2-secret';
    const masked = maskSecrets(line);
    assert.ok(!masked.includes('abc123'));
    assert.ok(!masked.includes('0123456789abcdef'));
    assert.ok(!masked.includes('hunter2-secret'));
    assert.match(masked, /secret=\*\*\*\*\*\*&x=1/);
  });
});

describe('storage failures', () => {
  it('turns a full disk (ENOSPC, EDQUOT) and a Redis that cannot save (MISCONF) into a 507 that says why', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const misconf = new Error('MISCONF Errors writing to the AOF file: No space left on device');
    for (const err of [enospc, Object.assign(new Error('quota'), { code: 'EDQUOT' }), misconf]) {
      const mapped = storageFailure(err);
      assert.ok(mapped instanceof InsufficientStorageError, err.message);
      assert.equal(mapped.status, 507);
      assert.ok(mapped.message.includes(err.message));
    }
    assert.match(storageFailure(misconf)?.message ?? '', /^Redis cannot save/);
    for (const other of [new Error('boom'), Object.assign(new Error('x'), { code: 'EACCES' }), null, 'MISCONF']) {
      assert.equal(storageFailure(other), null);
    }
  });
});

describe('safeJoin', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'safejoin-'));
  fs.mkdirSync(path.join(root, 'live'));
  fs.writeFileSync(path.join(root, 'live', 'a.m3u8'), '');
  fs.symlinkSync('/etc', path.join(root, 'escape'));
  it('resolves files inside the root', () => {
    assert.equal(safeJoin(root, 'live/a.m3u8'), path.join(root, 'live', 'a.m3u8'));
  });
  it('refuses traversal, encoded traversal, NUL and symlinks out', () => {
    assert.equal(safeJoin(root, '../etc/passwd')?.startsWith(root), true, 'normalised inside the root');
    assert.equal(safeJoin(root, '%2e%2e/%2e%2e/etc/passwd')?.startsWith(root), true);
    assert.equal(safeJoin(root, 'live/a.m3u8%00.png'), null);
    assert.equal(safeJoin(root, 'escape/passwd'), null);
    assert.equal(safeJoin(root, '%E0%A4%A'), null);
  });
});

describe('request body readers', () => {
  it('accepts objects, maps empty to {} and refuses other JSON', () => {
    assert.deepEqual(asBody(undefined), {});
    assert.throws(() => asBody([1]), /JSON object/);
    assert.throws(() => asBody('x'), /JSON object/);
  });
  it('names the field and the expected type', () => {
    assert.throws(() => requireString({}, 'password'), /no password/);
    assert.throws(() => requireString({ password: 1 }, 'password'), /password must be a string/);
    assert.throws(() => optionalBoolean({ all: 'yes' }, 'all'), /all must be true or false/);
    assert.throws(() => optionalInteger({ n: 1.5 }, 'n', 0, 10), /whole number/);
    assert.throws(() => optionalInteger({ n: 11 }, 'n', 0, 10), /between 0 and 10/);
    assert.equal(optionalInteger({ n: '7' }, 'n', 0, 10), 7);
  });
});

describe('embedded redis config', () => {
  it('listens on a socket only and keeps the password out of argv', () => {
    const conf = renderRedisConf({ dir: '/d/redis', socket: '/d/redis/redis.sock', password: 'p"w' });
    assert.match(conf, /^port 0$/m);
    assert.match(conf, /^requirepass "p\\"w"$/m);
    assert.match(conf, /^appendonly yes$/m);
  });
  it('falls back to a short socket path when the data dir is long', () => {
    assert.equal(redisSocketPath('/data/redis'), '/data/redis/redis.sock');
    const long = redisSocketPath(`/${'x'.repeat(120)}/redis`);
    assert.match(long, /^\/tmp\/srs-stack-redis-[0-9a-f]{16}\.sock$/);
  });
});

describe('console redirects', () => {
  it('only follows same-site relative paths', () => {
    assert.equal(safeBack('/mgmt/system?tab=api'), '/mgmt/system?tab=api');
    assert.equal(safeBack('//evil.example'), '/mgmt');
    assert.equal(safeBack('https://evil.example'), '/mgmt');
    assert.equal(safeBack('/\\evil'), '/mgmt');
  });
});

describe('i18n', () => {
  const dict = loadDictionaries(path.join(ROOT, 'views'));
  it('has an English and a Chinese text for every key', () => {
    for (const [key, v] of Object.entries(dict)) {
      assert.ok(v.en?.trim(), `${key} en`);
      assert.ok(v.zh?.trim(), `${key} zh`);
    }
  });
  it('every t() key used in a view exists', () => {
    const used = new Set<string>();
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.ejs'))
          for (const m of fs.readFileSync(full, 'utf8').matchAll(/\bt\('([^']+)'\s*[,)]/g)) used.add(m[1] as string);
      }
    };
    walk(path.join(ROOT, 'views'));
    const missing = [...used].filter((k) => !dict[k]);
    assert.deepEqual(missing, []);
  });
  it('substitutes variables', () => {
    const t = translator({ hi: { en: 'hi {name}', zh: '你好 {name}' } }, 'zh');
    assert.equal(t('hi', { name: 'x' }), '你好 x');
  });
});
