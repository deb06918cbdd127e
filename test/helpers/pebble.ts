// Debian's pebble (a test ACME server) plus pebble-challtestsrv as its DNS, so names like
// a.example.test resolve to 127.0.0.1 for validation without touching /etc/hosts. Recipe and
// measurements: /work/shared/spec/acme-testing.md. Pebble keeps all state in memory and makes a
// new root per start.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { makeCa, makeLeaf } from './certs.js';
import { freePort, tempDir, waitFor } from './stack.js';

export interface Pebble {
  directoryUrl: string;
  /** CA of pebble's own HTTPS (for ACME_CA_FILE). */
  caFile: string;
  /** Pebble's issuing root of this run, for verifying what it issued. */
  root(): Promise<string>;
  /** Makes `name` resolve to 127.0.0.1 for pebble's validation. */
  addHost(name: string): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Where pebble fetches HTTP-01 challenges: the stack's HTTP port. */
  httpPort: number;
  /** Lifetime of issued certificates (pebble's default is 5 years). */
  validitySeconds?: number;
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = tempDir('pebble-');
  const ca = await makeCa('pebble test CA');
  const leaf = await makeLeaf(ca, { names: ['localhost'], ips: ['127.0.0.1'] });
  const caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, ca.pem);
  fs.writeFileSync(path.join(dir, 'cert.pem'), leaf.crt);
  fs.writeFileSync(path.join(dir, 'key.pem'), leaf.key);
  const [acmePort, mgmtPort, tlsPort, dnsPort, dnsMgmtPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  fs.writeFileSync(
    path.join(dir, 'pebble-config.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: path.join(dir, 'cert.pem'),
        privateKey: path.join(dir, 'key.pem'),
        httpPort: opts.httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
      },
    }),
  );
  let output = '';
  const collect = (child: ChildProcess) => {
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
  };
  const dns = spawn(
    'pebble-challtestsrv',
    [
      '-dns01',
      `127.0.0.1:${dnsPort}`,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-management',
      `127.0.0.1:${dnsMgmtPort}`,
      '-defaultIPv4',
      '',
      '-defaultIPv6',
      '',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  collect(dns);
  const pebble = spawn('pebble', ['-config', path.join(dir, 'pebble-config.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    // No random validation sleeps, no bogus nonce rejections, no reuse of earlier validations.
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
  });
  collect(pebble);
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const stop = async () => {
    await Promise.all([stopChild(pebble), stopChild(dns)]);
  };
  try {
    await waitFor(
      async () => (await get(directoryUrl, ca.pem).catch(() => null))?.status === 200,
      10_000,
      () => `pebble ready:\n${output}`,
    );
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${dnsMgmtPort}/`).catch(() => null)) !== null,
      10_000,
      () => `challtestsrv ready:\n${output}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    directoryUrl,
    caFile,
    async root() {
      const res = await get(`https://127.0.0.1:${mgmtPort}/roots/0`, ca.pem);
      if (res.status !== 200) throw new Error(`pebble root: HTTP ${res.status}`);
      return res.body;
    },
    async addHost(name: string) {
      const res = await fetch(`http://127.0.0.1:${dnsMgmtPort}/add-a`, {
        method: 'POST',
        body: JSON.stringify({ host: `${name}.`, addresses: ['127.0.0.1'] }),
      });
      if (!res.ok) throw new Error(`challtestsrv add-a ${name}: HTTP ${res.status}`);
    },
    logs: () => output,
    stop,
  };
}
