// Edits are seen: the demo's fix (a same-size edit of calc.py right after Python imported it) at full speed, many
// times in a row, in a real Docker sandbox through the in-sandbox agent. With the default environment Python writes
// no bytecode; with caches turned back on, the agent's write still moves the mtime past the old whole second.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StartedSandbox } from '../../src/sandbox/types.js';
import { createSandbox } from '../helpers/sandbox-fixture.js';

const BROKEN = 'def add(a, b):\n    return a - b\n';
const FIXED = 'def add(a, b):\n    return a + b\n';
const RUN = 'cd fix && python3 -c "from calc import add; print(add(2, 3))"';

describe('edits are seen', { timeout: 180_000 }, () => {
  let sandbox: StartedSandbox;
  before(async () => {
    sandbox = await createSandbox('edits-seen');
  });
  after(async () => {
    await sandbox?.remove();
  });

  async function fixRepeatedly(env: Record<string, string>): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < 15; i++) {
      await sandbox.writeFile('fix/calc.py', BROKEN);
      const before = await sandbox.exec({ cmd: RUN, env });
      assert.equal(before.stdout.trim(), '-1', before.stderr);
      await sandbox.writeFile('fix/calc.py', FIXED);
      seen.push((await sandbox.exec({ cmd: RUN, env })).stdout.trim());
    }
    return seen;
  }

  test('the default environment writes no bytecode, so the fixed code always runs', async () => {
    assert.deepEqual(await fixRepeatedly({}), Array(15).fill('5'));
    assert.equal((await sandbox.exec({ cmd: 'ls fix' })).stdout.trim(), 'calc.py');
  });

  test('with bytecode caches on (PYTHONDONTWRITEBYTECODE overridden), a same-second edit is still seen', async () => {
    assert.deepEqual(await fixRepeatedly({ PYTHONDONTWRITEBYTECODE: '' }), Array(15).fill('5'));
    assert.match((await sandbox.exec({ cmd: 'ls fix/__pycache__' })).stdout, /calc\.cpython-\d+\.pyc/);
  });
});
