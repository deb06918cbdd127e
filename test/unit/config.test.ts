import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, ConfigError, buildConfig, parseDotenv } from '../../server/config.js';
import { ROOT } from '../helpers/stack.js';

describe('config', () => {
  it('uses SRS Stack defaults', () => {
    const c = buildConfig({});
    assert.equal(c.dataDir, '/data');
    assert.equal(c.mgmtListen, 2022);
    assert.equal(c.httpsListen, 2443);
    assert.equal(c.rtmpListen, 1935);
    assert.equal(c.display.rtmpPort, '1935');
    assert.equal(c.redis.host, '');
    assert.equal(c.limits.forward, 10);
  });

  it('prefers the environment over .env over defaults', () => {
    const c = buildConfig({ MGMT_LISTEN: '3000' }, { MGMT_LISTEN: '4000', HTTPS_LISTEN: '4443' });
    assert.equal(c.mgmtListen, 3000);
    assert.equal(c.httpsListen, 4443);
  });

  it('is frozen, deeply', () => {
    const c = buildConfig({});
    assert.throws(() => ((c as { mgmtListen: number }).mgmtListen = 1));
    assert.throws(() => ((c.display as { httpPort: string }).httpPort = '1'));
  });

  it('lists every problem at once with the key name', () => {
    try {
      buildConfig({ MGMT_LISTEN: 'abc', RTMP_LISTEN: '70000', DATA_DIR: 'relative', SRS_PLATFORM_SECRET: 'short' });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 4, err.message);
      assert.match(err.message, /MGMT_LISTEN/);
      assert.match(err.message, /RTMP_LISTEN/);
      assert.match(err.message, /DATA_DIR/);
      assert.match(err.message, /SRS_PLATFORM_SECRET/);
    }
  });

  it('refuses two listeners on one port', () => {
    assert.throws(() => buildConfig({ MGMT_LISTEN: '1935' }), /must differ/);
  });

  it('parses dotenv with comments and quotes', () => {
    assert.deepEqual(parseDotenv('# c\nA=1\nexport B="two words"\nC=\'x\'\nD=v # note\nbad line\n'), {
      A: '1',
      B: 'two words',
      C: 'x',
      D: 'v',
    });
  });

  it('documents every key in the README table', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const { key } of CONFIG_KEYS) assert.match(readme, new RegExp(`\\| \`${key}\` \\|`), key);
  });
});
