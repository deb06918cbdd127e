import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import {
  MAX_CRT_CHARS,
  createSelfSignedCertificate,
  daysLeft,
  describeCertificate,
  validateKeyPair,
} from '../../server/features/https/certificate.js';
import { classifyFailure, explainFailure, parseDomainList } from '../../server/features/https/domains.js';
import { selfSignedArgs } from '../../server/features/https/self-signed.js';
import { isPrivateAddress, selfCheckChallenge } from '../../server/features/https/self-check.js';
import { makeCa, makeLeaf, makeServerPair } from '../helpers/certs.js';
import { freePort } from '../helpers/stack.js';

describe('certificate validation (mgmt/ssl and Let’s Encrypt results)', () => {
  it('accepts a matching pair with its chain and normalises it to PEM blocks', async () => {
    const ca = await makeCa('Chain CA');
    const leaf = await makeLeaf(ca, { names: ['live.example.com', 'www.example.com'] });
    const checked = validateKeyPair(`junk before\n${leaf.key}`, `subject=CN=live\n${leaf.crt}${ca.pem}`);
    assert.ok(checked.key.startsWith('-----BEGIN PRIVATE KEY-----') && checked.key.endsWith('-----\n'));
    assert.equal(checked.crt, `${leaf.crt.trim()}\n${ca.pem.trim()}\n`);
    assert.equal(checked.info.commonName, 'live.example.com');
    assert.deepEqual(checked.info.altNames, ['live.example.com', 'www.example.com']);
    assert.equal(checked.info.chainLength, 2);
    assert.equal(checked.info.selfSigned, false);
  });

  it('refuses a key that belongs to another certificate', async () => {
    const a = await makeServerPair('a.example.com');
    const b = await makeServerPair('b.example.com');
    assert.throws(() => validateKeyPair(b.key, a.crt), /private key does not match the certificate \(CN=a\.example\.com\)/);
  });

  it('says to put the server certificate first when the key matches a later one', async () => {
    const ca = await makeCa();
    const leaf = await makeLeaf(ca, { names: ['x.example.com'] });
    const other = await makeServerPair('y.example.com');
    assert.throws(() => validateKeyPair(leaf.key, `${other.crt}${leaf.crt}`), /key belongs to certificate #2.*server certificate first/);
  });

  it('refuses a chain out of order', async () => {
    const ca = await makeCa();
    const leaf = await makeLeaf(ca, { names: ['x.example.com'] });
    const stranger = await makeCa('Stranger CA');
    assert.throws(() => validateKeyPair(leaf.key, `${leaf.crt}${stranger.pem}`), /certificate #2 in crt did not issue certificate #1/);
  });

  it('explains non-PEM, swapped, empty, encrypted, expired and oversized input', async () => {
    const pair = await makeServerPair('x.example.com');
    assert.throws(() => validateKeyPair(pair.key, 'hello world'), /crt is not a PEM certificate/);
    assert.throws(() => validateKeyPair(pair.key, Buffer.from('binary\0\x01').toString('base64')), /not a PEM certificate/);
    assert.throws(() => validateKeyPair(pair.crt, pair.key), /crt holds a private key.*swapped/);
    assert.throws(() => validateKeyPair(pair.crt, pair.crt), /key holds a certificate.*swapped/);
    assert.throws(() => validateKeyPair('', pair.crt), /empty key/);
    assert.throws(() => validateKeyPair(pair.key, '  '), /empty crt/);
    const encrypted = crypto.createPrivateKey(pair.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' });
    assert.throws(() => validateKeyPair(String(encrypted), pair.crt), /protected by a passphrase/);
    const broken = pair.crt.replace(/^(-----BEGIN CERTIFICATE-----\n)(.{10})/, '$1AAAAAAAAAA');
    assert.throws(() => validateKeyPair(pair.key, broken), /certificate #1 in crt cannot be parsed/);
    const old = await makeServerPair('old.example.com', new Date(Date.now() - 86_400_000));
    assert.throws(() => validateKeyPair(old.key, old.crt), /expired on/);
    assert.throws(() => validateKeyPair(pair.key, 'x'.repeat(MAX_CRT_CHARS + 1)), /crt is too large/);
  });

  it('makes SRS Stack’s first-boot certificate: ECDSA P-256, CN srs.stack.local, serial 1, ten years', async () => {
    const pair = await createSelfSignedCertificate();
    const cert = new X509Certificate(pair.crt);
    assert.equal(cert.subject, 'CN=srs.stack.local');
    assert.equal(cert.subjectAltName, 'DNS:srs.stack.local');
    assert.equal(cert.serialNumber, '01');
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(pair.key)));
    const info = describeCertificate(pair.crt);
    assert.equal(info.selfSigned, true);
    assert.ok(daysLeft(info) > 3649 && daysLeft(info) <= 3650, String(daysLeft(info)));
    assert.doesNotThrow(() => validateKeyPair(pair.key, pair.crt));
  });

  it('signs the first-boot certificate with its own key, serverAuth only, not a CA, any plain DNS name; refuses one openssl would parse', async () => {
    const name = `${'a'.repeat(20)}.${'b'.repeat(20)}.stack-1.example.com`; // 62 characters: a common name's longest is 64
    const pair = await createSelfSignedCertificate(name);
    const cert = new X509Certificate(pair.crt);
    assert.ok(cert.verify(cert.publicKey), 'its signature verifies with its own public key');
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(cert.subject, `CN=${name}`);
    assert.equal(cert.issuer, `CN=${name}`);
    assert.equal(cert.subjectAltName, `DNS:${name}`);
    assert.ok(pair.key.startsWith('-----BEGIN PRIVATE KEY-----'), 'unencrypted PKCS#8');
    const tls = await import('node:tls');
    assert.doesNotThrow(() => tls.createSecureContext({ key: pair.key, cert: pair.crt }));
    for (const bad of ['a/CN=b', 'a,b', 'a=b', 'a b', '-x', '', `${'a'.repeat(60)}.com.x`])
      assert.throws(() => selfSignedArgs(bad, 1, '/k', '/c'), /not a plain DNS name/, bad);
  });
});

describe('Let’s Encrypt domain lists', () => {
  it('splits on ";", trims, lower-cases, drops empties and repeats', () => {
    assert.deepEqual(parseDomainList(' Example.com ; ;www.example.com;; example.com; '), ['example.com', 'www.example.com']);
    assert.deepEqual(parseDomainList('live.example.com.'), ['live.example.com']);
    assert.deepEqual(parseDomainList('例子.中国'), ['xn--fsqu00a.xn--fiqs8s']);
  });

  it('refuses garbage with a message naming the entry', () => {
    assert.throws(() => parseDomainList('   '), /no domain/);
    assert.throws(() => parseDomainList(' ; ;; '), /no domain/);
    assert.throws(
      () => parseDomainList('a.example.com b.example.com'),
      /"a\.example\.com b\.example\.com" contains a space: separate several domains with ";"/,
    );
    assert.throws(() => parseDomainList('https://example.com/'), /not a bare domain name/);
    assert.throws(() => parseDomainList('example.com:80'), /not a bare domain name/);
    assert.throws(() => parseDomainList('*.example.com'), /wildcard/);
    assert.throws(() => parseDomainList('203.0.113.7'), /IP address/);
    assert.throws(() => parseDomainList('localhost'), /not a valid domain name/);
    assert.throws(() => parseDomainList('-bad-.example.com'), /not a valid domain name/);
    assert.throws(() => parseDomainList(`${'a'.repeat(64)}.com`), /not a valid domain name/);
    assert.throws(() => parseDomainList(Array.from({ length: 101 }, (_, i) => `n${i}.example.com`).join(';')), /too many domains/);
  });
});

describe('failure explanations (FAQ causes)', () => {
  it('maps CA and self-check errors to DNS, port 80, another server, or rate limit', () => {
    assert.equal(classifyFailure('DNS problem: NXDOMAIN looking up A for x.example.com'), 'dns');
    assert.equal(classifyFailure('could not resolve URL "http://nx.example.test:5002/"'), 'dns');
    assert.equal(classifyFailure('Timeout during connect (likely firewall problem)'), 'port');
    assert.equal(classifyFailure('dial tcp 1.2.3.4:80: connect: connection refused'), 'port');
    assert.equal(classifyFailure('Invalid response from http://x/.well-known/acme-challenge/t: 404'), 'elsewhere');
    assert.equal(classifyFailure('too many failed authorizations recently: see rate limits'), 'rateLimit');
    assert.equal(classifyFailure('something odd'), 'generic');
    const text = explainFailure('b.example.com', 'DNS problem: NXDOMAIN looking up A for b.example.com.');
    assert.match(text, /^Let's Encrypt could not validate b\.example\.com: DNS problem: NXDOMAIN .*\. Likely cause: .*DNS A record/);
  });

  it('knows private addresses', () => {
    for (const a of ['10.1.2.3', '172.20.0.1', '192.168.1.1', '127.0.0.1', '100.64.0.1', '::1', 'fd00::1'])
      assert.ok(isPrivateAddress(a), a);
    for (const a of ['203.0.113.7', '8.8.8.8', '2001:db8::1']) assert.ok(!isPrivateAddress(a), a);
  });
});

describe('ACME self-check against a real HTTP server on localhost', () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/.well-known/acme-challenge/tok') res.end('tok.thumb');
      else res.writeHead(404).end('nope');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => server.close());

  it('passes when the domain answers its challenge, and warns that the address is private', async () => {
    const result = await selfCheckChallenge('localhost', port, 'tok', 'tok.thumb');
    assert.ok(result.addresses.includes('127.0.0.1') || result.addresses.includes('::1'));
    assert.match(result.warning ?? '', /private address/);
  });

  it('explains a server that answers without the challenge', async () => {
    await assert.rejects(
      selfCheckChallenge('localhost', port, 'other', 'x'),
      /returned 404 without this stack's challenge\. Likely cause: port 80 of that address is answered by another server/,
    );
  });

  it('explains a closed port', async () => {
    const closed = await freePort();
    await assert.rejects(
      selfCheckChallenge('localhost', closed, 'tok', 'x'),
      /ECONNREFUSED.*Likely cause: the server is not reachable from the internet on port 80/,
    );
  });
});
