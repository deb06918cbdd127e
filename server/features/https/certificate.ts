// Certificates as text: checks an uploaded key + chain before anything is written (the one place
// that decides what "valid" means, used for uploads and for Let's Encrypt results alike), describes
// the installed certificate, and makes the self-signed certificate of a fresh install.
import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import tls from 'node:tls';
import { ValidationError, errorMessage } from '../../core/errors.js';
import { opensslSelfSigned } from './self-signed.js';

/** A private key PEM is a few KB even for RSA-8192; a chain of ten certificates stays far below. */
export const MAX_KEY_CHARS = 16 * 1024;
export const MAX_CRT_CHARS = 64 * 1024;
export const SELF_SIGNED_NAME = 'srs.stack.local';
const SELF_SIGNED_DAYS = 3650;

export interface CertificateInfo {
  subject: string;
  commonName: string;
  altNames: string[];
  issuer: string;
  validFrom: string;
  validTo: string;
  serialNumber: string;
  fingerprint256: string;
  selfSigned: boolean;
  /** Certificates in the file: the server's own, then its intermediates. */
  chainLength: number;
}

export interface KeyPair {
  key: string;
  crt: string;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const HAS_CERT = /-----BEGIN CERTIFICATE-----/;
const HAS_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const KEY_BLOCK = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/g;

function certificateBlocks(crt: string): string[] {
  const blocks = crt.match(CERT_BLOCK) ?? [];
  if (blocks.length) return blocks;
  if (HAS_KEY.test(crt)) {
    throw new ValidationError('crt holds a private key, not a certificate: the key and the certificate fields look swapped');
  }
  throw new ValidationError('crt is not a PEM certificate: expected text starting with -----BEGIN CERTIFICATE-----');
}

function privateKeyOf(key: string): { pem: string; object: KeyObject } {
  const blocks = key.match(KEY_BLOCK) ?? [];
  if (!blocks.length) {
    if (HAS_CERT.test(key)) {
      throw new ValidationError('key holds a certificate, not a private key: the key and the certificate fields look swapped');
    }
    throw new ValidationError('key is not a PEM private key: expected text starting with -----BEGIN PRIVATE KEY-----');
  }
  if (blocks.length > 1) throw new ValidationError(`key holds ${blocks.length} private keys: upload exactly one`);
  const pem = blocks[0] as string;
  if (pem.includes('ENCRYPTED')) {
    throw new ValidationError('key is protected by a passphrase: upload the unencrypted key (openssl pkey -in key.pem -out plain.pem)');
  }
  try {
    return { pem, object: crypto.createPrivateKey(pem) };
  } catch (err) {
    throw new ValidationError(`key cannot be read as a private key: ${errorMessage(err)}`);
  }
}

function parseCertificate(block: string, index: number): X509Certificate {
  try {
    return new X509Certificate(block);
  } catch (err) {
    throw new ValidationError(`certificate #${index + 1} in crt cannot be parsed: ${errorMessage(err)}`);
  }
}

/**
 * Checks a key and a certificate chain as a TLS server would use them and returns them normalised
 * (PEM blocks only, one trailing newline). Throws a ValidationError that says what to fix.
 */
export function validateKeyPair(keyText: string, crtText: string, now = new Date()): KeyPair & { info: CertificateInfo } {
  if (!keyText.trim()) throw new ValidationError('empty key: paste the private key (PEM)');
  if (!crtText.trim()) throw new ValidationError('empty crt: paste the certificate (PEM)');
  if (keyText.length > MAX_KEY_CHARS) throw new ValidationError(`key is too large: ${keyText.length} characters, limit ${MAX_KEY_CHARS}`);
  if (crtText.length > MAX_CRT_CHARS) throw new ValidationError(`crt is too large: ${crtText.length} characters, limit ${MAX_CRT_CHARS}`);
  const blocks = certificateBlocks(crtText);
  const certs = blocks.map(parseCertificate);
  const key = privateKeyOf(keyText);
  const leaf = certs[0] as X509Certificate;
  if (!leaf.checkPrivateKey(key.object)) {
    const other = certs.findIndex((c) => c.checkPrivateKey(key.object));
    if (other > 0) {
      throw new ValidationError(
        `the key belongs to certificate #${other + 1} in crt: put the server certificate first, then its intermediates`,
      );
    }
    throw new ValidationError(`the private key does not match the certificate (${leaf.subject.replace(/\n/g, ', ')})`);
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    const child = certs[i] as X509Certificate;
    const parent = certs[i + 1] as X509Certificate;
    if (!child.checkIssued(parent)) {
      throw new ValidationError(
        `certificate #${i + 2} in crt did not issue certificate #${i + 1}: order the chain from the server certificate up to the CA`,
      );
    }
  }
  if (new Date(leaf.validTo).getTime() < now.getTime()) {
    throw new ValidationError(`the certificate expired on ${new Date(leaf.validTo).toISOString()}: upload a current one`);
  }
  const pair = { key: `${key.pem}\n`, crt: `${blocks.join('\n')}\n` };
  try {
    tls.createSecureContext({ key: pair.key, cert: pair.crt });
  } catch (err) {
    throw new ValidationError(`TLS cannot use this key and certificate: ${errorMessage(err)}`);
  }
  return { ...pair, info: describeCertificate(pair.crt) };
}

function commonNameOf(subject: string): string {
  return /^CN=(.*)$/m.exec(subject)?.[1] ?? '';
}

/** The facts the console and the renewal check need about the first certificate of a PEM chain. */
export function describeCertificate(crt: string): CertificateInfo {
  const blocks = crt.match(CERT_BLOCK) ?? [];
  const leaf = new X509Certificate(blocks[0] ?? crt);
  const altNames = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((s) => s.replace(/^(DNS|IP Address):/, ''));
  return {
    subject: leaf.subject.replace(/\n/g, ', '),
    commonName: commonNameOf(leaf.subject),
    altNames,
    issuer: leaf.issuer.replace(/\n/g, ', '),
    validFrom: new Date(leaf.validFrom).toISOString(),
    validTo: new Date(leaf.validTo).toISOString(),
    serialNumber: leaf.serialNumber,
    fingerprint256: leaf.fingerprint256,
    selfSigned: leaf.subject === leaf.issuer && leaf.verify(leaf.publicKey),
    chainLength: blocks.length,
  };
}

export function daysLeft(info: CertificateInfo, now = new Date()): number {
  return (new Date(info.validTo).getTime() - now.getTime()) / 86_400_000;
}

/** SRS Stack's first-boot certificate: ECDSA P-256, CN srs.stack.local, serial 1, ten years (made by openssl: self-signed.ts). */
export async function createSelfSignedCertificate(name = SELF_SIGNED_NAME): Promise<KeyPair> {
  const { key, crt } = await opensslSelfSigned(name, SELF_SIGNED_DAYS);
  return validateKeyPair(key, crt);
}
