/** `keel serve`'s token file: a principal's tenant, and one clear error naming where a bad entry is wrong. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenTable } from '../../src/serve/tokens.js';

const TOKEN = 'acme-app-token-0123456789abcdef';

test('a token may name the tenant of the runs its principal starts', () => {
  const table = TokenTable.parse(
    JSON.stringify([{ token: TOKEN, principal: 'acme-app', can: ['start'], tenant: 'acme' }]),
    'tokens.json',
  );
  assert.deepEqual(table.authenticate(`Bearer ${TOKEN}`), {
    name: 'acme-app',
    can: ['start'],
    approveAs: [],
    tenant: 'acme',
  });
});

test('a bad entry is one error naming its index and field', () => {
  const good = { token: TOKEN, principal: 'a', can: ['read'] };
  assert.throws(
    () => TokenTable.parse(JSON.stringify([good, { ...good, tenants: ['x'] }]), 'tokens.json'),
    /^KeelError: tokens\.json: \[1\] Unrecognized key/,
  );
  assert.throws(
    () => TokenTable.parse(JSON.stringify([good, { ...good, can: ['fly'] }]), 'tokens.json'),
    /tokens\.json: \[1\]\.can\[0\] /,
  );
  assert.throws(() => TokenTable.parse('{}', 'tokens.json'), /^KeelError: tokens\.json: Invalid input: expected array/);
});
