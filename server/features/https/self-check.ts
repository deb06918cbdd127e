// Before asking the CA to validate a name, fetch its challenge the way the CA will: resolve the
// name, connect to port 80, read the token. A problem found here costs nothing, while every failed
// validation at Let's Encrypt counts against its hourly limit; and the error names the cause.
import dns from 'node:dns/promises';
import http from 'node:http';
import net from 'node:net';
import { errorMessage } from '../../core/errors.js';
import { explainFailure } from './domains.js';

const TIMEOUT_MS = 10_000;

const PRIVATE = new net.BlockList();
for (const [net4, bits] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
] as const) {
  PRIVATE.addSubnet(net4, bits, 'ipv4');
}
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  return family !== 0 && PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

export interface SelfCheckResult {
  addresses: string[];
  /** Set when every address is private: fine inside a LAN, but Let's Encrypt will not reach it. */
  warning?: string;
}

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: TIMEOUT_MS, headers: { 'User-Agent': 'srs-stack-acme-self-check' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`timeout after ${TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

/** Throws an explained Error when http://<domain>:<port>/.well-known/acme-challenge/<token> does not answer keyAuthorization. */
export async function selfCheckChallenge(domain: string, port: number, token: string, keyAuthorization: string): Promise<SelfCheckResult> {
  const who = 'The self-check';
  let addresses: string[];
  try {
    addresses = (await dns.lookup(domain, { all: true })).map((a) => a.address);
  } catch (err) {
    throw new Error(explainFailure(domain, `DNS lookup failed (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`, who), {
      cause: err,
    });
  }
  const url = `http://${domain}${port === 80 ? '' : `:${port}`}/.well-known/acme-challenge/${token}`;
  let answer: { status: number; body: string };
  try {
    answer = await fetchText(url);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    throw new Error(explainFailure(domain, `${url} (${addresses.join(', ')}) could not be fetched: ${code}`, who), { cause: err });
  }
  if (answer.status !== 200 || answer.body.trim() !== keyAuthorization) {
    throw new Error(
      explainFailure(domain, `${url} (${addresses.join(', ')}) returned ${answer.status} without this stack's challenge`, who),
    );
  }
  const result: SelfCheckResult = { addresses };
  if (addresses.every(isPrivateAddress)) {
    result.warning = `${domain} resolves to ${addresses.join(', ')}, a private address: Let's Encrypt validates from the internet and needs the public IP`;
  }
  return result;
}
