/**
 * SecretVault's pure parts: references resolve from the provider (missing or too-short secrets are clear errors),
 * known values are redacted from text, from every string of a tool result and from errors, and masked in streams even
 * when split across chunks.
 */
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secret, secretNames } from '../../src/agents/secret.js';
import { envSecrets, SecretVault } from '../../src/activities/secrets.js';

const VALUE = 'tok-0123456789abcdef';

describe('SecretVault', { timeout: 30_000 }, () => {
  test('resolves references and refuses missing or too-short secrets', async () => {
    const vault = new SecretVault(envSecrets({ TOKEN: VALUE, SHORT: 'abc' }));
    assert.deepEqual(await vault.resolveEnv({ A: secret('TOKEN'), B: 'plain' }), { A: VALUE, B: 'plain' });
    await assert.rejects(vault.resolve(secret('MISSING')), /secret 'MISSING' is not set on this worker/);
    await assert.rejects(vault.resolve(secret('SHORT')), /too short/);
    assert.throws(() => secret('bad name'), /must be a plain name/);
  });

  test('redacts known values from text and masks them across stream chunks', async () => {
    const vault = new SecretVault(envSecrets({ TOKEN: VALUE }));
    assert.equal(vault.redact(`x ${VALUE} y`), `x ${VALUE} y`, 'only values the vault has resolved are known');
    await vault.learn({ env: { T: secret('TOKEN') } });
    assert.equal(vault.redact(`x ${VALUE} y ${VALUE}`), 'x [secret TOKEN] y [secret TOKEN]');
    const text = `head ${VALUE} middle ${VALUE}`;
    const chunks = [text.slice(0, 9), text.slice(9, 30), text.slice(30)].map((c) => Buffer.from(c));
    const out: Buffer[] = [];
    for await (const c of vault.mask(Readable.from(chunks))) out.push(c as Buffer);
    const masked = Buffer.concat(out).toString();
    assert.equal(masked.length, text.length, 'same length (a tar stays a tar)');
    assert.equal(masked, text.split(VALUE).join('*'.repeat(VALUE.length)));
  });

  test('redacts every string inside a tool result, and the message and stack of an error', async () => {
    const vault = new SecretVault(envSecrets({ TOKEN: VALUE }));
    await vault.learn(secret('TOKEN'));
    const result = {
      output: `o ${VALUE}`,
      isError: false,
      guardrails: [{ type: 'guardrail', info: { seen: [VALUE], n: 1 } }],
    };
    assert.deepEqual(vault.redactDeep(result), {
      output: 'o [secret TOKEN]',
      isError: false,
      guardrails: [{ type: 'guardrail', info: { seen: ['[secret TOKEN]'], n: 1 } }],
    });
    const err = vault.redactError(new Error(`failed with ${VALUE}`)) as Error;
    assert.equal(err.message, 'failed with [secret TOKEN]');
    assert.ok(!err.stack?.includes(VALUE));
  });

  test('secretNames finds references anywhere, even in cyclic objects', () => {
    const o: Record<string, unknown> = { a: [{ b: secret('X') }], c: secret('Y') };
    o.self = o;
    assert.deepEqual([...secretNames(o)].sort(), ['X', 'Y']);
  });
});
