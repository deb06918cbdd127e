// Test certificates made in-process (no openssl): a CA, leaves it signs, and plain key PEMs.
import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TestCa {
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
  pem: string;
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  return `${x509.PemConverter.encode(await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY')}\n`;
}

function newKeys(): Promise<CryptoKeyPair> {
  return crypto.webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

export async function makeCa(name = 'Test CA'): Promise<TestCa> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    name: `CN=${name}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  return { keys, cert, pem: `${cert.toString('pem')}\n` };
}

export interface LeafOptions {
  names: string[];
  ips?: string[];
  notBefore?: Date;
  notAfter?: Date;
}

/** A server certificate signed by `ca`: { key, crt } PEMs (crt is the leaf only). */
export async function makeLeaf(ca: TestCa, opts: LeafOptions): Promise<{ key: string; crt: string }> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    subject: `CN=${opts.names[0]}`,
    issuer: ca.cert.subject,
    notBefore: opts.notBefore ?? new Date(now - DAY),
    notAfter: opts.notAfter ?? new Date(now + 90 * DAY),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...opts.names.map((value) => ({ type: 'dns' as const, value })),
        ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  return { key: await keyPem(keys), crt: `${cert.toString('pem')}\n` };
}

/** A server pair from a throwaway CA (the leaf alone, no chain), for uploads. */
export async function makeServerPair(name: string, notAfter?: Date): Promise<{ key: string; crt: string }> {
  const ca = await makeCa(`${name} issuer`);
  return makeLeaf(ca, { names: [name], notAfter });
}
