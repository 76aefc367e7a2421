/**
 * Output a terminal can take: a command printing invalid UTF-8, NUL bytes, ANSI escapes (colours, screen clears,
 * a window title) and 100 MB comes back capped and free of escape and control bytes in the RunState, the audit
 * (read from the run's history) and `keel watch`. Real Temporal dev server, scripted model, real Docker sandbox.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { auditRun, renderAuditMarkdown } from '../../src/audit/index.js';
import { watchRun } from '../../src/cli/watch.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { UNSAFE_CHARACTER } from '../../src/util/safe-text.js';
import { sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const HOSTILE = [
  "printf 'bad utf8: \\xff\\xfe\\xc3( nul: a\\0b bell: \\a\\n'",
  "printf '\\033[31mred\\033[0m \\033[2J\\033[H\\033]0;pwned title\\007 progress\\r50%%\\r100%%\\n'",
  "head -c 100000000 /dev/zero | tr '\\0' x",
  "printf '\\nthe end\\033[0m\\n'",
].join('; ');

describe('hostile command output', { timeout: 240_000 }, () => {
  test('comes back capped and terminal-safe in the RunState, the audit and keel watch', async () => {
    stack.model.setScript('hostile-output', {
      steps: [
        { toolCalls: [{ name: 'exec_command', arguments: { cmd: HOSTILE } }] },
        { message: 'saw it \u001b[2J all' },
      ],
    });
    const agent = new SandboxAgent({
      name: 'hostile',
      instructions: 'x',
      model: 'hostile-output',
      capabilities: [shell()],
    });
    const queue = queueFor('hostile-output');
    const worker = await sandboxWorker(stack, [agent], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'print things');
      await client.result(id);
      const state = await client.getState(id);
      const [result] = toolResults(state);
      assert.ok(Buffer.byteLength(result.output) < 1_000_000, `${Buffer.byteLength(result.output)} bytes`);
      assert.doesNotMatch(result.output, UNSAFE_CHARACTER);
      assert.match(result.output, /bad utf8: \ufffd+\( nul: a\\x00b bell: \\x07/);
      assert.match(result.output, /red {2}progress\n50%\n100%/);
      assert.match(result.output, /bytes in all|bytes cut|truncated/);

      const markdown = renderAuditMarkdown(
        await auditRun(client.temporal, id, { blobs: new LocalBlobStore(path.join(stack.dataDir, 'blobs')) }),
      );
      assert.match(markdown, /nul: a\\x00b/);

      let watched = '';
      assert.equal(await watchRun(client, id, { write: (t) => (watched += t) }), 0);
      assert.match(watched, /saw it {2}all/);
      for (const [where, text] of [
        ['audit', markdown],
        ['watch', watched],
      ])
        assert.doesNotMatch(text, UNSAFE_CHARACTER, where);
    });
  });
});
