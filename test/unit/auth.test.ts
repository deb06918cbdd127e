import assert from 'node:assert/strict';
import { secretsEqual } from '../../server/core/secrets.js';
import { signToken, verifyToken } from '../../server/features/auth/jwt.js';
import { LoginThrottle } from '../../server/features/auth/login-throttle.js';
import { hashPassword, randomPassword, verifyPassword } from '../../server/features/auth/password.js';

describe('jwt', () => {
  const secret = 'srs-v2-0123456789abcdef0123456789abcdef';
  it('signs HS256 tokens that verify with the same secret for 365 days', () => {
    const { token, claims } = signToken(secret, 1000);
    assert.equal(claims.exp - claims.iat, 365 * 24 * 3600);
    assert.equal(claims.v, '1.0');
    const ok = verifyToken(secret, token, 2000);
    assert.ok(ok.ok);
  });
  it('rejects another secret, tampering, expiry and alg none', () => {
    const { token } = signToken(secret, 1000);
    assert.equal(verifyToken('other', token, 2000).ok, false);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ exp: 9e9 })).toString('base64url')}.${s}`;
    assert.equal(verifyToken(secret, forged, 2000).ok, false);
    const expired = verifyToken(secret, token, 1000 + 366 * 24 * 3600);
    assert.deepEqual(expired, { ok: false, reason: 'token is expired' });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"exp":9e9}').toString('base64url')}.`;
    assert.equal(verifyToken(secret, none).ok, false);
    assert.equal(verifyToken(secret, 'garbage').ok, false);
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
