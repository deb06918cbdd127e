import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { secretsEqual } from '../../server/core/secrets.js';
import { signToken, verifyToken } from '../../server/features/auth/jwt.js';
import { LoginThrottle } from '../../server/features/auth/login-throttle.js';
import { hashPassword, randomPassword, verifyPassword } from '../../server/features/auth/password.js';

describe('jwt', () => {
  const secret = 'srs-v2-0123456789abcdef0123456789abcdef';
  it('signs HS256 tokens that verify with the same secret for 365 days', async () => {
    const { token, claims } = await signToken(secret, 1000);
    assert.equal(claims.exp - claims.iat, 365 * 24 * 3600);
    assert.equal(claims.v, '1.0');
    const ok = await verifyToken(secret, token, 2000);
    assert.ok(ok.ok);
  });
  it('rejects another secret, tampering, expiry and alg none', async () => {
    const { token } = await signToken(secret, 1000);
    assert.equal((await verifyToken('other', token, 2000)).ok, false);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ exp: 9e9 })).toString('base64url')}.${s}`;
    assert.equal((await verifyToken(secret, forged, 2000)).ok, false);
    const expired = await verifyToken(secret, token, 1000 + 366 * 24 * 3600);
    assert.deepEqual(expired, { ok: false, reason: 'token is expired' });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"exp":9e9}').toString('base64url')}.`;
    assert.equal((await verifyToken(secret, none)).ok, false);
    assert.equal((await verifyToken(secret, 'garbage')).ok, false);
  });
  it('verifies tokens issued by the hand-written HS256 code it replaced (existing sessions and API tokens)', async () => {
    // Built exactly as the node:crypto implementation before jose did: header, claims, HMAC-SHA256.
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ v: '1.0', nonce: 'abcdef0123456789', iat: 1000, exp: 1000 + 365 * 24 * 3600 })}`;
    const legacy = `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
    const verified = await verifyToken(secret, legacy, 2000);
    assert.ok(verified.ok);
    assert.equal(verified.claims.nonce, 'abcdef0123456789');
    // And the other way: jose's tokens have the same header, so older builds would accept them.
    const { token } = await signToken(secret, 1000);
    assert.deepEqual(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
  });
  it('compares secrets in constant time and exactly', () => {
    assert.ok(secretsEqual('abc', 'abc'));
    assert.ok(!secretsEqual('abc', 'abd'));
    assert.ok(!secretsEqual('abc', 'abcd'));
  });
});

describe('password hashing', () => {
  it('verifies the right password only, with a random salt', async () => {
    const a = await hashPassword('s3cret-pw');
    const b = await hashPassword('s3cret-pw');
    assert.notEqual(a, b);
    assert.ok(await verifyPassword('s3cret-pw', a));
    assert.ok(!(await verifyPassword('s3cret-pX', a)));
    assert.ok(!(await verifyPassword('s3cret-pw', 'plain-text')));
  });
  it('proposes 16 hex character passwords', () => {
    assert.match(randomPassword(), /^[0-9a-f]{16}$/);
  });
});

describe('login throttle', () => {
  it('doubles the wait per failure per client, capped, and forgets on success', () => {
    let now = 0;
    const t = new LoginThrottle(1000, 8000, () => now);
    assert.equal(t.waitFor('a'), 0);
    assert.equal(t.recordFailure('a'), 1000);
    assert.equal(t.waitFor('a'), 1000);
    assert.equal(t.waitFor('b'), 0, 'other clients are not slowed');
    now = 1000;
    assert.equal(t.recordFailure('a'), 2000);
    assert.equal(t.recordFailure('a'), 4000);
    assert.equal(t.recordFailure('a'), 8000);
    assert.equal(t.recordFailure('a'), 8000);
    t.recordSuccess('a');
    assert.equal(t.waitFor('a'), 0);
  });
  it('bounds its memory', () => {
    const t = new LoginThrottle(1000, 8000, Date.now, 3);
    for (const c of ['a', 'b', 'c', 'd']) t.recordFailure(c);
    assert.equal(t.waitFor('a'), 0, 'the oldest entry was dropped');
    assert.ok(t.waitFor('d') > 0);
  });
});
