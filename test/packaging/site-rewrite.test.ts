// The panel-site rewrite (plugin/src/bt_tools.py) on the vhost exactly as BT writes it, checked by
// the real nginx: `nginx -t`, then requests through a running nginx to a stub upstream. Also the
// cloud images' front nginx configuration.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { freePort, tempDir } from '../helpers/stack.js';
import { ROOT, sh } from './helpers.js';

// The vhost exactly as the BT panel writes it (copied from the project's shared fixtures, so a
// clean clone needs nothing beside it).
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'bt-panel', 'srs.stack.local.conf');
const BT_TOOLS = path.join(ROOT, 'plugin', 'src', 'bt_tools.py');
const FILES = path.join(ROOT, 'installer', 'files');
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

function fixturePath(): string {
  if (fs.existsSync(FIXTURE)) return FIXTURE;
  throw new Error(`BT vhost fixture not found at ${FIXTURE}`);
}

/** An nginx prefix with the panel's layout moved under `dir`, the vhost included as the panel does. */
function panelPrefix(dir: string, vhost: string, listen: number, upstream: number): string {
  const www = path.join(dir, 'wwwroot', 'srs.stack.local');
  // nginx workers run unprivileged (the panel's as www): the site root must be reachable to them.
  fs.chmodSync(path.dirname(dir), 0o755);
  fs.mkdirSync(path.join(www, '.well-known', 'acme-challenge'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'rewrite'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  // What the panel has: an empty enable-php-00.conf (static site) and an empty rewrite file.
  fs.writeFileSync(path.join(dir, 'enable-php-00.conf'), '');
  fs.writeFileSync(path.join(dir, 'rewrite', 'srs.stack.local.conf'), '');
  const conf = fs
    .readFileSync(vhost, 'utf8')
    .replaceAll('/www/server/panel/vhost/rewrite', path.join(dir, 'rewrite'))
    .replaceAll('/www/wwwroot', path.join(dir, 'wwwroot'))
    .replaceAll('/www/wwwlogs', path.join(dir, 'logs'))
    .replace('listen 80;', `listen 127.0.0.1:${listen};`)
    .replaceAll('127.0.0.1:2022', `127.0.0.1:${upstream}`);
  fs.writeFileSync(path.join(dir, 'vhost.conf'), conf);
  const main = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    main,
    `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n` +
      `  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n` +
      `  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n` +
      `  include ${dir}/vhost.conf;\n}\n`,
  );
  return main;
}

describe('panel site rewrite (bt_tools.py) on the BT vhost fixture', function () {
  this.timeout(60_000);
  let dir = '';
  let vhost = '';
  let original = '';

  before(() => {
    dir = tempDir('srs-stack-site-');
    vhost = path.join(dir, 'srs.stack.local.conf');
    original = fs.readFileSync(fixturePath(), 'utf8');
    fs.writeFileSync(vhost, original);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('applied twice gives the same file, and remove gives back the panel’s original', () => {
    assert.equal(sh('python3', [BT_TOOLS, 'setup', vhost]).rc, 0);
    const once = fs.readFileSync(vhost, 'utf8');
    assert.notEqual(once, original);
    assert.equal(sh('python3', [BT_TOOLS, 'setup', vhost]).rc, 0);
    assert.equal(fs.readFileSync(vhost, 'utf8'), once);
    assert.match(once, /^#SRS-HTTP-START[^\n]*\n[\s\S]*map \$http_upgrade \$srs_stack_connection_upgrade/);
    assert.match(once, /#SRS-PROXY-START[\s\S]*proxy_pass http:\/\/127\.0\.0\.1:2022;[\s\S]*#SRS-PROXY-END\n\n {4}#SSL-START/);
    const copy = path.join(dir, 'removed.conf');
    fs.writeFileSync(copy, once);
    assert.equal(sh('python3', [BT_TOOLS, 'remove', copy]).rc, 0);
    assert.equal(fs.readFileSync(copy, 'utf8'), original);
  });

  it('refuses a file that is not a panel vhost, leaving it untouched', () => {
    const other = path.join(dir, 'other.conf');
    fs.writeFileSync(other, 'server { listen 81; }\n');
    const res = sh('python3', [BT_TOOLS, 'setup', other]);
    assert.equal(res.rc, 1);
    assert.match(res.out, /not a panel vhost/);
    assert.equal(fs.readFileSync(other, 'utf8'), 'server { listen 81; }\n');
  });

  it('nginx -t accepts the rewritten vhost inside the panel’s http block', () => {
    const prefix = path.join(dir, 'check');
    const main = panelPrefix(prefix, vhost, 80, 2022);
    const res = sh('nginx', ['-t', '-p', prefix, '-c', main]);
    assert.equal(res.rc, 0, res.out);
    assert.match(res.out, /test is successful/);
  });

  describe('through a running nginx', () => {
    let nginx: ChildProcess | undefined;
    let upstream: http.Server;
    let base = '';
    const seen: { url: string; headers: http.IncomingHttpHeaders; bodyBytes: number }[] = [];

    before(async () => {
      upstream = http.createServer((req, res) => {
        let bodyBytes = 0;
        req.on('data', (d: Buffer) => (bodyBytes += d.length));
        req.on('end', () => {
          seen.push({ url: req.url ?? '', headers: req.headers, bodyBytes });
          res.end(`stack:${req.url}`);
        });
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      const listen = await freePort();
      const prefix = path.join(dir, 'run');
      const main = panelPrefix(prefix, vhost, listen, (upstream.address() as AddressInfo).port);
      fs.writeFileSync(path.join(prefix, 'wwwroot', 'srs.stack.local', '.well-known', 'acme-challenge', 'panel-token'), 'from the panel');
      nginx = spawn('nginx', ['-p', prefix, '-c', main], { stdio: 'ignore' });
      base = `http://127.0.0.1:${listen}`;
      for (let i = 0; i < 50; i++) {
        if (
          await fetch(`${base}/`).then(
            () => true,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    after(async () => {
      if (nginx) {
        const exited = new Promise((r) => nginx?.once('exit', r));
        nginx.kill('SIGQUIT');
        await exited;
      }
      await new Promise((r) => upstream.close(r));
    });

    const get = (p: string, init?: RequestInit) => fetch(`${base}${p}`, { headers: { Host: 'test.example.com' }, ...init });

    it('sends the console’s scripts, styles and images to the stack, not the panel’s static blocks', async () => {
      for (const p of ['/mgmt/public/console.js', '/mgmt/public/console.css', '/mgmt/logo.png', '/terraform/v1/mgmt/versions']) {
        const res = await get(p);
        assert.equal(res.status, 200, p);
        assert.equal(await res.text(), `stack:${p}`);
      }
    });

    it('serves the panel’s own ACME challenge files and passes the stack’s to it', async () => {
      assert.equal(await (await get('/.well-known/acme-challenge/panel-token')).text(), 'from the panel');
      assert.equal(await (await get('/.well-known/acme-challenge/stack-token')).text(), 'stack:/.well-known/acme-challenge/stack-token');
    });

    it('forwards Host, client address and WebSocket upgrade headers', async () => {
      await new Promise<void>((resolve, reject) => {
        const port = Number(new URL(base).port);
        const req = http.request({
          port,
          host: '127.0.0.1',
          path: '/ws',
          headers: { Host: 'test.example.com', Connection: 'Upgrade', Upgrade: 'websocket' },
        });
        req.on('response', (res) => res.resume().on('end', resolve));
        req.on('error', reject);
        req.end();
      });
      const ws = seen.find((s) => s.url === '/ws');
      assert.equal(ws?.headers.host, 'test.example.com');
      assert.equal(ws?.headers.upgrade, 'websocket');
      assert.equal(ws?.headers.connection, 'upgrade');
      assert.equal(ws?.headers['x-forwarded-for'], '127.0.0.1');
      const plain = seen.find((s) => s.url === '/terraform/v1/mgmt/versions');
      assert.equal(plain?.headers.upgrade, undefined);
    });

    it('accepts upload-sized bodies (beyond nginx’s 1 MB default)', async () => {
      const body = Buffer.alloc(8 * 1024 * 1024, 1);
      const res = await get('/terraform/v1/vlive/upload/x.mp4', { method: 'POST', body });
      assert.equal(res.status, 200);
      assert.equal(seen.find((s) => s.url === '/terraform/v1/vlive/upload/x.mp4')?.bodyBytes, body.length);
    });
  });
});

describe('front nginx of the cloud images (installer --front-nginx)', () => {
  it('nginx -t accepts the port-80 site and the 443 pass-through with the stack’s snippets', () => {
    const dir = tempDir('srs-stack-front-');
    try {
      const site = fs
        .readFileSync(path.join(FILES, 'front-nginx.conf'), 'utf8')
        .replaceAll('/usr/local/srs-stack/app/installer/files', FILES);
      fs.writeFileSync(path.join(dir, 'site.conf'), site);
      const load = fs.existsSync(STREAM_MODULE) ? `load_module ${STREAM_MODULE};\n` : '';
      const stream = load ? `include ${path.join(FILES, 'front-nginx-stream.conf')};\n` : '';
      fs.writeFileSync(
        path.join(dir, 'nginx.conf'),
        `${load}pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\n${stream}http {\n  include ${dir}/site.conf;\n}\n`,
      );
      const res = sh('nginx', ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')]);
      assert.equal(res.rc, 0, res.out);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
