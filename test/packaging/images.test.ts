// Every shell script of the packaging (bash -n, shellcheck), the image-builder scripts' own
// behaviour, and the Packer templates validated offline by Debian's Packer 1.6.6.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/stack.js';
import { ROOT, sh } from './helpers.js';

const SHELL_DIRS = ['installer', 'plugin', 'image-builder', path.join('test', 'packaging')];
const IMAGE_BUILDER = path.join(ROOT, 'image-builder');
const ONBOOT = path.join(IMAGE_BUILDER, 'files', 'var', 'lib', 'cloud', 'scripts', 'per-instance', '001_onboot');
const MOTD = path.join(IMAGE_BUILDER, 'files', 'etc', 'update-motd.d', '99-srs-stack');
const TEMPLATES = ['digitalocean.json', 'lighthouse.json'];

/** Files that are shell scripts: *.sh, or anything starting with a sh/bash shebang. */
function shellScripts(): { file: string; shell: 'bash' | 'sh' }[] {
  const found: { file: string; shell: 'bash' | 'sh' }[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const head = fs.readFileSync(full, 'utf8').slice(0, 64);
        const shebang = /^#!\s*\/(?:usr\/)?bin\/(?:env\s+)?(bash|sh)\b/.exec(head)?.[1];
        if (shebang || entry.name.endsWith('.sh')) found.push({ file: full, shell: shebang === 'sh' ? 'sh' : 'bash' });
      }
    }
  };
  for (const dir of SHELL_DIRS) walk(path.join(ROOT, dir));
  return found;
}

describe('shell scripts of the packaging', () => {
  const scripts = shellScripts();

  it('are found where expected (installer, plugin, image-builder, tests)', () => {
    const rel = scripts.map((s) => path.relative(ROOT, s.file));
    for (const must of [
      'installer/setup.sh',
      'installer/bootstrap.sh',
      'installer/files/srs_stack.init',
      'plugin/src/install.sh',
      'image-builder/scripts/99-img-check.sh',
    ]) {
      assert.ok(rel.includes(must), must);
    }
    assert.ok(rel.some((r) => r.endsWith('001_onboot')) && rel.some((r) => r.endsWith('99-srs-stack')));
  });

  it('parse (bash -n / sh -n) and pass shellcheck', () => {
    for (const { file, shell } of scripts) {
      const syntax = sh(shell, ['-n', file]);
      assert.equal(syntax.rc, 0, `${file}: ${syntax.out}`);
    }
    const lint = sh('shellcheck', ['-x', '-P', 'SCRIPTDIR', '--severity=style', ...scripts.map((s) => s.file)]);
    assert.equal(lint.rc, 0, lint.out);
  });

  it('the scripts a system or panel runs directly are executable', () => {
    for (const rel of [
      'installer/setup.sh',
      'plugin/src/install.sh',
      'plugin/src/setup.sh',
      path.relative(ROOT, ONBOOT),
      path.relative(ROOT, MOTD),
    ]) {
      assert.ok(fs.statSync(path.join(ROOT, rel)).mode & 0o111, rel);
    }
  });
});

describe('image-builder scripts', () => {
  let dir = '';
  beforeEach(() => (dir = tempDir('srs-stack-image-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('first boot removes exactly the root-login lock the bake added to sshd_config', () => {
    const sshd = path.join(dir, 'sshd_config');
    const original =
      'Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin prohibit-password\nSubsystem sftp /usr/lib/openssh/sftp-server\n';
    fs.writeFileSync(sshd, original);
    const env = { ...process.env, SSHD_CONFIG: sshd, SRS_STACK_ONBOOT_STEPS: 'ssh' };
    assert.equal(sh('bash', [path.join(IMAGE_BUILDER, 'scripts', '03-force-ssh-logout.sh')], { env }).rc, 0);
    const locked = fs.readFileSync(sshd, 'utf8');
    assert.match(locked, /Match User root\n\s+ForceCommand echo "Please wait/);
    assert.equal(sh('bash', [ONBOOT], { env }).rc, 0);
    assert.equal(fs.readFileSync(sshd, 'utf8'), original);
  });

  it('the login banner shows the console URL and where the admin password is', () => {
    const res = sh('sh', [MOTD]);
    assert.equal(res.rc, 0);
    assert.match(res.out, /Console: +http:\/\/\S+\/mgmt\//);
    assert.match(res.out, /Admin password: +in \/root\/credentials\.txt/);
    assert.match(res.out, /22, 80, 443, 1935\/tcp, 2022\/tcp, 8000\/udp, 10080\/udp/);
  });

  it('the firewall script opens 22, 80, 443, 1935/tcp, 2022, 8000/udp and 10080/udp and enables ufw', () => {
    const text = fs.readFileSync(path.join(IMAGE_BUILDER, 'scripts', '02-firewall.sh'), 'utf8');
    const rules = [...text.matchAll(/^ufw (limit|allow) (\S+)$/gm)].map((m) => m[2]);
    assert.deepEqual(rules, ['22/tcp', '80/tcp', '443/tcp', '1935/tcp', '2022/tcp', '8000/udp', '10080/udp']);
    assert.match(text, /^ufw --force enable$/m);
  });

  it('the marketplace check fails an image with a user password, no cloud-init, no libsrt and an unsupported OS', () => {
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.mkdirSync(path.join(dir, 'var', 'log'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'etc', 'os-release'), 'ID=debian\nVERSION_ID="10"\nPRETTY_NAME="Debian 10"\n');
    fs.writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/bash\n');
    fs.writeFileSync(path.join(dir, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\nbob:$6$salt$hash:19000:0:99999:7:::\n');
    fs.writeFileSync(path.join(dir, 'var', 'log', 'syslog.1'), 'old');
    const res = sh('bash', [path.join(IMAGE_BUILDER, 'scripts', '99-img-check.sh')], { env: { ...process.env, IMG_CHECK_ROOT: dir } });
    assert.equal(res.rc, 1, res.out);
    for (const line of [
      '[FAIL] not a supported OS version for images: Debian 10',
      '[FAIL] cloud-init is not installed',
      '[FAIL] libsrt (OpenSSL) is not installed: SRT would be off',
      '[FAIL] user bob has a password',
      '[PASS] root has no password',
      '[WARN] 1 archived log files left in /var/log',
    ]) {
      assert.ok(res.out.includes(line), `${line}\n${res.out}`);
    }
  });
});

describe('Packer templates (packer validate, offline)', function () {
  this.timeout(60_000);
  let tarball = '';
  before(function () {
    if (sh('packer', ['version']).rc !== 0) throw new Error('packer is not installed (scripts/test-all.sh installs it)');
    // validate checks that every uploaded file exists; a stand-in for the release tarball will do.
    tarball = path.join(tempDir('srs-stack-packer-'), 'linux-srs_stack.tar.gz');
    fs.writeFileSync(tarball, '');
  });
  after(() => fs.rmSync(path.dirname(tarball), { recursive: true, force: true }));

  /** packer validate with no network at all when unshare allows it: nothing may be fetched. */
  const validate = (template: string, env: Record<string, string>) => {
    const args = ['validate', '-var', `release_tarball=${tarball}`, template];
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', CHECKPOINT_DISABLE: '1', ...env };
    const offline = sh('unshare', ['-n', 'true']).rc === 0;
    return offline ? sh('unshare', ['-n', 'packer', ...args], { env: base }) : sh('packer', args, { env: base });
  };
  const tpl = (name: string) => path.join(ROOT, 'packer', name);
  const creds = { DIGITALOCEAN_TOKEN: 'dummy', TENCENTCLOUD_SECRET_ID: 'dummy-id', TENCENTCLOUD_SECRET_KEY: 'dummy-key' };

  it('both templates validate with Packer 1.6.6 (JSON, no required_plugins, no droplet_agent)', () => {
    for (const name of TEMPLATES) {
      const res = validate(tpl(name), creds);
      assert.equal(res.rc, 0, `${name}: ${res.out}`);
      const text = fs.readFileSync(tpl(name), 'utf8');
      assert.doesNotMatch(text, /required_plugins|droplet_agent/);
    }
    const builders = TEMPLATES.map(
      (n) => (JSON.parse(fs.readFileSync(tpl(n), 'utf8')) as { builders: { type: string }[] }).builders[0]?.type,
    );
    assert.deepEqual(builders, ['digitalocean', 'tencentcloud-cvm']);
  });

  it('fails without credentials, naming them', () => {
    const digitalocean = validate(tpl('digitalocean.json'), {});
    assert.equal(digitalocean.rc, 1);
    assert.match(digitalocean.out, /api_token for auth must be specified/);
    const lighthouse = validate(tpl('lighthouse.json'), {});
    assert.equal(lighthouse.rc, 1);
    assert.match(lighthouse.out, /secret_id and secret_key must be set/);
  });

  it('fails when a provisioning script is missing', () => {
    const dir = tempDir('srs-stack-packer-missing-');
    try {
      // Same layout as the repository (template_dir/../image-builder), one script renamed.
      fs.mkdirSync(path.join(dir, 'packer'));
      fs.symlinkSync(IMAGE_BUILDER, path.join(dir, 'image-builder'));
      const text = fs.readFileSync(tpl('digitalocean.json'), 'utf8').replace('02-firewall.sh', '02-missing.sh');
      fs.writeFileSync(path.join(dir, 'packer', 'digitalocean.json'), text);
      const res = validate(path.join(dir, 'packer', 'digitalocean.json'), creds);
      assert.equal(res.rc, 1);
      assert.match(res.out, /Bad script[\s\S]*02-missing\.sh/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses every image-builder script, in order, ending with cleanup and the marketplace check', () => {
    const used = new Set<string>();
    for (const name of TEMPLATES) {
      const template = JSON.parse(fs.readFileSync(tpl(name), 'utf8')) as { provisioners: { scripts?: string[] }[] };
      const scripts = template.provisioners.flatMap((p) => p.scripts ?? []).map((s) => path.basename(s));
      assert.deepEqual(scripts, [...scripts].sort(), `${name}: scripts run in name order`);
      assert.equal(scripts[0], '00-os.sh');
      assert.deepEqual(scripts.slice(-1), ['99-img-check.sh']);
      assert.ok(scripts.includes('90-cleanup.sh') && scripts.includes('02-firewall.sh'), name);
      scripts.forEach((s) => used.add(s));
    }
    assert.deepEqual([...used].sort(), fs.readdirSync(path.join(IMAGE_BUILDER, 'scripts')).sort());
  });
});
