/**
 * Memory is per user/tenant by default: a run whose context names a tenant or user never sees another's memory in
 * its instructions (issue 10). Real AgentRegistry over a real LocalMemoryStore.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from '../../src/agents/agent.js';
import { memory, memorySpecOf } from '../../src/agents/memory.js';
import { AgentRegistry } from '../../src/tools/registry.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';

const ctxOf = (context: unknown) => ({ agent: 'helper', workflowId: 'w', context });

describe('memory scope per tenant', () => {
  test("one tenant's memory never reaches another tenant's instructions", async () => {
    const store = new LocalMemoryStore(mkdtempSync(path.join(tmpdir(), 'keel-mem-tenant-')));
    const agent = new Agent({ name: 'helper', instructions: 'Help.', capabilities: [memory()] });
    const registry = new AgentRegistry([agent], store);
    const acme = memorySpecOf('helper', {}, ctxOf({ tenant: 'acme' }));
    await store.write(acme, acme.layout.summary, 'ACME-SECRET-PLAN');
    const globex = await registry.resolve('helper', ctxOf({ tenant: 'globex' }));
    assert.doesNotMatch(globex.instructions, /ACME-SECRET-PLAN/);
    const anonymous = await registry.resolve('helper', ctxOf({}));
    assert.doesNotMatch(anonymous.instructions, /ACME-SECRET-PLAN/);
    const again = await registry.resolve('helper', ctxOf({ tenant: 'acme' }));
    assert.match(again.instructions, /ACME-SECRET-PLAN/);
  });

  test('user and tenant both name the scope, and no two names collide', () => {
    const scope = (context: unknown) => memorySpecOf('a', {}, ctxOf(context)).scope;
    assert.equal(scope({}), 'default');
    assert.notEqual(scope({ tenant: 'acme', user: 'ann' }), scope({ tenant: 'acme', user: 'bob' }));
    assert.notEqual(scope({ tenant: 'acme', user: 'ann' }), scope({ tenant: 'acme' }));
    assert.notEqual(scope({ user: 'a.b' }), scope({ user: 'a_b' }));
    assert.notEqual(scope({ user: '../etc' }), scope({ user: '.._etc' }));
    assert.match(scope({ user: '../../etc/passwd' }), /^[a-zA-Z0-9._-]{1,128}$/);
    assert.throws(() => scope({ user: 'x'.repeat(500) }), /too long for a memory scope/);
    assert.equal(memorySpecOf('a', { scope: 'shared' }, ctxOf({ tenant: 'acme' })).scope, 'shared');
  });
});
