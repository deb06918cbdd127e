// The BT / aaPanel plugin zips: layout and info.json as the panels' loader reads them, the Python
// plugin class, the page and the icon.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { tempDir } from '../helpers/stack.js';
import { ROOT, sh } from './helpers.js';

interface Pack {
  packPlugin(variant: string, outDir: string): Promise<string>;
}
const PANEL_METHODS = [
  'serviceStatus',
  'installTasks',
  'installSrs',
  'querySrs',
  'cleanupInstall',
  'createSrsSite',
  'setupSrsSite',
  'setupFirewall',
  'querySrsService',
  'uninstall_check',
];
/**
 * Methods the panel itself calls (not the page), and how it reads their answer. From BT's
 * class/panelPlugin.py (ossrs/bt-plugin-dev snapshot), uninstall_plugin():
 *   res = Plugin(name).exec_fun(public.dict_obj(), 'uninstall_check')
 *   if res['status']: res['status'] = False; return res      # "卸载前置检查失败": uninstall stops
 * i.e. status True = the pre-uninstall check failed; status False = go on and uninstall.
 */
const PANEL_CALLS: Record<string, { proceeds: (answer: { status?: unknown }) => boolean; reading: string }> = {
  uninstall_check: {
    proceeds: (answer) => answer.status === false,
    reading: "panelPlugin.uninstall_plugin stops when res['status'] is true (the pre-uninstall check failed)",
  },
};
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Imports srs_stack_main.py the way the panel does, with the panel's modules replaced by stand-ins
 * (public.returnMsg / dict_obj as the panel defines them), then runs `code` (Python, `m` = the module,
 * `public` = the stand-in) and returns what it prints as JSON.
 */
function runPlugin(code: string, opts: { stubs?: (dir: string) => void } = {}): unknown {
  const stubs = tempDir('srs-stack-panel-stubs-');
  try {
    fs.writeFileSync(
      path.join(stubs, 'public.py'),
      [
        'class dict_obj:',
        '    def __contains__(self, key): return hasattr(self, key)',
        '    def get(self, key, default=None): return getattr(self, key, default)',
        'def returnMsg(status, msg, args=()):',
        '    return {"status": status, "msg": msg}',
        'def serviceReload(): pass',
      ].join('\n'),
    );
    for (const mod of ['panelSite', 'files', 'firewalls']) fs.writeFileSync(path.join(stubs, `${mod}.py`), `class ${mod}:\n    pass\n`);
    opts.stubs?.(stubs);
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(stubs)})`,
      `sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'plugin', 'src'))})`,
      'import public',
      'import srs_stack_main as m',
      code,
    ].join('\n');
    // Tools the plugin runs (ufw, firewall-cmd, systemctl) are looked up in the stubs folder first.
    const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PATH: `${stubs}:${process.env.PATH ?? ''}` };
    const res = sh('python3', ['-c', script], { env });
    assert.equal(res.rc, 0, res.out);
    return JSON.parse(res.out) as unknown;
  } finally {
    fs.rmSync(stubs, { recursive: true, force: true });
  }
}

/** The class, its methods and the Python 3.7 grammar check, read with Python's own ast module. */
function pythonClassReport(file: string): { classes: string[]; methods: Record<string, string[]>; py37: boolean } {
  const script = [
    'import ast, json, sys',
    'src = open(sys.argv[1], encoding="utf-8").read()',
    'tree = ast.parse(src)',
    'classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]',
    'methods = {c.name: [f.name for f in c.body if isinstance(f, ast.FunctionDef)] for c in classes}',
    'try:',
    '    ast.parse(src, feature_version=(3, 7)); py37 = True',
    'except SyntaxError:',
    '    py37 = False',
    'print(json.dumps({"classes": [c.name for c in classes], "methods": methods, "py37": py37}))',
  ].join('\n');
  const res = sh('python3', ['-c', script, file]);
  assert.equal(res.rc, 0, res.out);
  return JSON.parse(res.out) as ReturnType<typeof pythonClassReport>;
}

describe('plugin sources (Python)', () => {
  const pyFiles = ['srs_stack_main.py', 'bt_tools.py'].map((f) => path.join(ROOT, 'plugin', 'src', f));

  it('compile with python3 -m py_compile and parse as Python 3.7, the panels’ version', () => {
    const out = tempDir('srs-stack-pyc-');
    try {
      for (const file of pyFiles) {
        const res = sh('python3', ['-m', 'py_compile', file], { env: { ...process.env, PYTHONPYCACHEPREFIX: out } });
        assert.equal(res.rc, 0, res.out);
        assert.equal(pythonClassReport(file).py37, true, `${file} must parse with Python 3.7 grammar`);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('srs_stack_main.py defines class srs_stack_main with every method the page calls, all public', () => {
    const report = pythonClassReport(pyFiles[0] as string);
    assert.deepEqual(report.classes, ['srs_stack_main']);
    const methods = report.methods.srs_stack_main ?? [];
    for (const m of PANEL_METHODS) assert.ok(methods.includes(m), `missing ${m}`);
    assert.deepEqual(
      methods.filter((m) => m.startsWith('_')),
      [],
      'the panel cannot call _methods: helpers live outside the class',
    );
    const page = fs.readFileSync(path.join(ROOT, 'plugin', 'src', 'index.html'), 'utf8');
    const called = [...page.matchAll(/call\('(\w+)'/g)].map((m) => m[1]);
    assert.ok(called.length >= 6);
    for (const m of called) assert.ok(methods.includes(m as string), `the page calls ${m}, which the class lacks`);
  });
});

describe('plugin methods the panel itself calls', () => {
  for (const [method, contract] of Object.entries(PANEL_CALLS)) {
    it(`${method}: answers so the panel goes on (${contract.reading})`, () => {
      const answer = runPlugin(`print(json.dumps(getattr(m.srs_stack_main(), ${JSON.stringify(method)})(public.dict_obj())))`) as {
        status?: unknown;
        msg?: unknown;
      };
      assert.ok(answer && typeof answer === 'object' && 'status' in answer, `the panel reads res['status']: ${JSON.stringify(answer)}`);
      assert.equal(typeof answer.status, 'boolean');
      assert.equal(typeof answer.msg, 'string', 'returnMsg(status, msg): the panel shows msg');
      assert.ok(contract.proceeds(answer), `the panel would stop: ${JSON.stringify(answer)}`);
    });
  }
});

describe('plugin firewall step: UDP ports through the host firewall (the panel opens TCP only)', () => {
  const commands = (ufw: string, firewalld: string) =>
    runPlugin(
      `b = m.firewall_backend(${JSON.stringify(ufw)}, ${JSON.stringify(firewalld)})\nprint(json.dumps({"backend": b, "argv": m.udp_firewall_commands(b, m.FIREWALL_PORTS)}))`,
    ) as { backend: string | null; argv: string[][] };

  it('ufw active: ufw allow 8000/udp and 10080/udp, nothing for the TCP ports', () => {
    assert.deepEqual(commands('Status: active\n\nTo Action From\n', ''), {
      backend: 'ufw',
      argv: [
        ['ufw', 'allow', '8000/udp', 'comment', 'SRS Stack WebRTC'],
        ['ufw', 'allow', '10080/udp', 'comment', 'SRS Stack SRT'],
      ],
    });
  });

  it('firewalld running: permanent rules for 8000/udp and 10080/udp, then a reload', () => {
    assert.deepEqual(commands('', 'running\n'), {
      backend: 'firewalld',
      argv: [
        ['firewall-cmd', '--permanent', '--add-port=8000/udp'],
        ['firewall-cmd', '--permanent', '--add-port=10080/udp'],
        ['firewall-cmd', '--reload'],
      ],
    });
  });

  it('neither running (ufw inactive, firewalld not running or absent): no command', () => {
    assert.deepEqual(commands('Status: inactive\n', 'not running\n'), { backend: null, argv: [] });
    assert.deepEqual(commands('', ''), { backend: null, argv: [] });
  });

  it('setupFirewall: TCP ports through the panel, UDP ports through ufw, and the answer says so', () => {
    const answer = runPlugin(
      [
        'import os, tempfile',
        'm.FIREWALL_FLAG = os.path.join(tempfile.mkdtemp(), "fw")',
        'res = m.srs_stack_main().setupFirewall(public.dict_obj())',
        'body = json.loads(res["msg"])',
        'body["panel_calls"] = __import__("firewalls").calls',
        'body["ufw_calls"] = open(os.path.join(os.path.dirname(public.__file__), "ufw.log")).read().splitlines()',
        'print(json.dumps(body))',
      ].join('\n'),
      {
        stubs: (dir) => {
          // The panel's helper, as BT's firewalls.AddAcceptPortAll: it records the port (TCP).
          fs.writeFileSync(
            path.join(dir, 'firewalls.py'),
            'calls = []\nclass firewalls:\n    def AddAcceptPortAll(self, port, ps):\n        calls.append(port)\n        return {"status": True, "msg": "ok"}\n',
          );
          const ufw = path.join(dir, 'ufw');
          fs.writeFileSync(
            ufw,
            `#!/bin/sh\nif [ "$1" = status ]; then echo "Status: active"; exit 0; fi\necho "$*" >> ${JSON.stringify(path.join(dir, 'ufw.log'))}\necho "Rule added"\n`,
            { mode: 0o755 },
          );
        },
      },
    ) as {
      ports: { port: string; protocol: string }[];
      udp: { ports: string[]; firewall: string; opened: boolean };
      notice: string;
      notice_args: { ports: string; firewall: string };
      panel_calls: string[];
      ufw_calls: string[];
    };
    assert.deepEqual(answer.panel_calls, ['1935', '2022'], 'the panel opens TCP: only the TCP ports go to it');
    assert.deepEqual(answer.ufw_calls, ['allow 8000/udp comment SRS Stack WebRTC', 'allow 10080/udp comment SRS Stack SRT']);
    assert.deepEqual(answer.udp, { ...answer.udp, ports: ['8000/udp', '10080/udp'], firewall: 'ufw', opened: true });
    assert.equal(answer.notice, 'udp_opened');
    assert.deepEqual(answer.notice_args, { ports: '8000/udp, 10080/udp', firewall: 'ufw' });
  });

  it('refuses a port that is not a number (argv lists, never a shell string)', () => {
    const out = runPlugin(
      `try:\n    m.udp_firewall_commands("ufw", (("8000; reboot", "udp", "x"),))\n    print(json.dumps("accepted"))\nexcept ValueError as e:\n    print(json.dumps(str(e)))`,
    );
    assert.match(out as string, /invalid port/);
  });
});

describe('plugin zips (npm run pack:bt / pack:aapanel)', function () {
  this.timeout(120_000);
  let out = '';
  const zips: Record<string, string> = {};

  before(async () => {
    out = tempDir('srs-stack-plugin-');
    const pack = (await import(pathToFileURL(path.join(ROOT, 'plugin', 'pack.mjs')).href)) as Pack;
    zips.bt = await pack.packPlugin('bt', out);
    zips.aapanel = await pack.packPlugin('aapanel', out);
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  const listing = (zip: string) => sh('unzip', ['-Z', zip]).out.split('\n');
  const names = (zip: string) => sh('unzip', ['-Z1', zip]).out.trim().split('\n');
  const read = (zip: string, entry: string) => sh('unzip', ['-p', zip, entry]).out;

  it('are named bt-srs_stack.zip and aapanel-srs_stack.zip', () => {
    assert.equal(path.basename(zips.bt as string), 'bt-srs_stack.zip');
    assert.equal(path.basename(zips.aapanel as string), 'aapanel-srs_stack.zip');
  });

  for (const variant of ['bt', 'aapanel']) {
    it(`${variant}: one top folder srs_stack/ with info.json, install.sh and the plugin files`, () => {
      const zip = zips[variant] as string;
      const entries = names(zip);
      assert.deepEqual([...new Set(entries.map((e) => e.split('/')[0]))], ['srs_stack']);
      const top = entries.filter((e) => /^srs_stack\/[^/]+$/.test(e)).map((e) => e.slice('srs_stack/'.length));
      for (const file of ['info.json', 'install.sh', 'index.html', 'icon.png', 'srs_stack_main.py', 'bt_tools.py', 'setup.sh', 'config']) {
        assert.ok(top.includes(file), file);
      }
      assert.ok(!top.includes('.env'), 'the panels delete .env files on import');
      for (const file of ['app/installer/setup.sh', 'app/installer/files/nginx-proxy.conf', 'app/dist/server/main.js']) {
        assert.ok(entries.includes(`srs_stack/${file}`), file);
      }
    });

    it(`${variant}: keeps the executable bits of the scripts`, () => {
      const lines = listing(zips[variant] as string);
      for (const script of ['srs_stack/install.sh', 'srs_stack/setup.sh', 'srs_stack/app/installer/setup.sh']) {
        const line = lines.find((l) => l.endsWith(` ${script}`));
        assert.match(line ?? '', /^-rwxr-xr-x/, script);
      }
    });

    it(`${variant}: info.json follows the panel loader's rules`, () => {
      const zip = zips[variant] as string;
      const info = JSON.parse(read(zip, 'srs_stack/info.json')) as Record<string, unknown>;
      for (const [key, value] of Object.entries(info)) assert.equal(typeof value, 'string', `${key} is a flat string`);
      for (const key of ['title', 'name', 'ps', 'versions', 'checks']) assert.ok(info[key], key);
      assert.equal(info.name, 'srs_stack', 'plugin id = top folder = <id>_main.py = class');
      assert.equal(info.versions, VERSION);
      assert.equal(info.checks, '/www/server/panel/plugin/srs_stack');
      const cjk = /[\u4e00-\u9fff]/;
      assert.equal(cjk.test(`${info.title as string}${info.ps as string}`), variant === 'bt', 'BT speaks Chinese, aaPanel English');
      const config = read(zip, 'srs_stack/config');
      assert.equal(config, variant === 'bt' ? 'LANGUAGE=zh\nCLOUD=BT\n' : 'LANGUAGE=en\nCLOUD=AAPANEL\n');
    });

    it(`${variant}: the page is rendered in its language, with no placeholder left`, () => {
      const page = read(zips[variant] as string, 'srs_stack/index.html');
      assert.doesNotMatch(page, /\{\{\w+\}\}/);
      assert.doesNotMatch(page, /\/\*I18N\*\/ \{\}/);
      assert.match(page, variant === 'bt' ? /安装 SRS Stack/ : /Install SRS Stack/);
      // The firewall step's answer names where the UDP ports went (the panel's list shows TCP only).
      assert.match(page, variant === 'bt' ? /面板防火墙只开放 TCP/ : /the panel's firewall opens TCP only/);
      assert.match(page, /\/plugin\?action=a&name=srs_stack&s=/);
    });
  }

  it('install.sh keeps the exact PATH line the panel rewrites and refuses other actions', () => {
    const script = path.join(ROOT, 'plugin', 'src', 'install.sh');
    assert.match(
      fs.readFileSync(script, 'utf8'),
      /^PATH=\/bin:\/sbin:\/usr\/bin:\/usr\/sbin:\/usr\/local\/bin:\/usr\/local\/sbin:~\/bin$/m,
    );
    const res = sh('bash', [script, 'upgrade']);
    assert.equal(res.rc, 1);
    assert.match(res.out, /usage: bash install.sh install\|uninstall/);
  });

  it('icon.png is a real PNG (signature, IHDR, chunk CRCs, pixel data)', () => {
    const png = fs.readFileSync(path.join(ROOT, 'plugin', 'src', 'icon.png'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    let offset = 8;
    let width = 0;
    let height = 0;
    const idat: Buffer[] = [];
    while (offset < png.length) {
      const length = png.readUInt32BE(offset);
      const type = png.toString('latin1', offset + 4, offset + 8);
      const data = png.subarray(offset + 8, offset + 8 + length);
      assert.equal(png.readUInt32BE(offset + 8 + length), zlib.crc32(png.subarray(offset + 4, offset + 8 + length)), `${type} CRC`);
      if (type === 'IHDR') [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
      if (type === 'IDAT') idat.push(data);
      offset += 12 + length;
    }
    assert.ok(width >= 32 && width === height, `${width}x${height}`);
    assert.equal(zlib.inflateSync(Buffer.concat(idat)).length, height * (1 + width * 4), 'RGBA rows');
  });
});
