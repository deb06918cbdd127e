import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replaceFileAtomic, writeFileAtomic, writeFileAtomicSync } from '../../server/core/atomic-write.js';

describe('atomic write', () => {
  let dir: string;
  let umask: number;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-write-'));
    umask = process.umask();
  });
  afterEach(() => {
    process.umask(umask);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const mode = (file: string) => fs.statSync(file).mode & 0o777;

  it('replaces a file with exactly the given mode, whatever the umask, and leaves no temporary', async () => {
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    process.umask(0o077);
    writeFileAtomicSync(file, 'new hash\n', { mode: 0o644 });
    assert.equal(fs.readFileSync(file, 'utf8'), 'new hash\n');
    assert.equal(mode(file), 0o644, 'a umask of 077 would have made it 0600');
    writeFileAtomicSync(file, 'narrower', { mode: 0o600 });
    assert.equal(mode(file), 0o600, 'an existing file gets the new mode too');
    await writeFileAtomic(file, 'async', { mode: 0o640, fsync: true });
    assert.equal(fs.readFileSync(file, 'utf8'), 'async');
    assert.equal(mode(file), 0o640);
    assert.deepEqual(fs.readdirSync(dir), ['secret']);
  });

  it('keeps the target untouched until the content is complete', async () => {
    const file = path.join(dir, 'index.mp4');
    fs.writeFileSync(file, 'complete old record');
    await replaceFileAtomic(file, async (tmp) => {
      assert.equal(path.dirname(tmp), dir, 'same directory, so the rename cannot cross filesystems');
      await fs.promises.writeFile(tmp, 'half');
      assert.equal(fs.readFileSync(file, 'utf8'), 'complete old record', 'the partial content is not visible');
      await fs.promises.appendFile(tmp, ' and the rest');
    });
    assert.equal(fs.readFileSync(file, 'utf8'), 'half and the rest');
    assert.deepEqual(fs.readdirSync(dir), ['index.mp4']);
  });

  it('a failure removes the temporary, keeps the old file and rethrows the failure', async () => {
    const file = path.join(dir, 'copy.mp4');
    fs.writeFileSync(file, 'old');
    const tmpPath = path.join(dir, '.copy.mp4.tmp');
    await assert.rejects(
      replaceFileAtomic(
        file,
        async (tmp) => {
          await fs.promises.writeFile(tmp, 'partial');
          throw new Error('ENOSPC: no space left on device');
        },
        { tmpPath },
      ),
      /ENOSPC/,
    );
    assert.equal(fs.readFileSync(file, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir), ['copy.mp4']);
    assert.throws(() => writeFileAtomicSync(path.join(dir, 'missing-dir', 'f'), 'x'), /ENOENT/);
    assert.deepEqual(fs.readdirSync(dir), ['copy.mp4']);
  });

  it('names the temporary after the process, so two processes never share one', async () => {
    const file = path.join(dir, 'mgmt-password.hash');
    let seen = '';
    await replaceFileAtomic(file, async (tmp) => {
      seen = tmp;
      await fs.promises.writeFile(tmp, 'x');
    });
    assert.equal(seen, `${file}.${process.pid}.tmp`);
  });
});
