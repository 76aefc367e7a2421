/**
 * `keel watch` and `keel chat` as a user runs them: child processes against the test stack, a real Redis for
 * token deltas, chat driven through its stdin.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { Client } from '@temporalio/client';
import { KeelClient } from '../../src/client.js';
import { liveAgents, liveScripts } from '../helpers/live-agents.js';
import { startTestBroker, type TestBroker } from '../helpers/redis.js';
import { waitFor, waitForStatus } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'bin', 'keel.js');

let stack: TestStack;
let live: TestBroker;
before(async () => {
  stack = await startTestStack(liveScripts);
  live = await startTestBroker();
});
after(async () => {
  await live?.close();
  await stack?.close();
});

interface Cli {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exit: Promise<number | null>;
}

function startCli(queue: string, args: string[]): Cli {
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: stack.address,
    KEEL_TASK_QUEUE: queue,
    KEEL_REDIS_URL: live.redis.url,
  };
  const child = spawn(process.execPath, [CLI, ...args], { env });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

test('keel watch shows turns, tool calls, the approval to give with its exact command, streamed text; exits 0, or 1 for a failed run', async () => {
  const queue = queueFor('live watch');
  const worker = await stack.worker(Object.values(liveAgents), queue, { broker: live.broker });
  const client = new KeelClient(new Client({ connection: stack.clientConnection }), queue, { broker: live.broker });
  await worker.runUntil(async () => {
    const runId = await client.startRun('live_vault', 'open the north door');
    const watch = startCli(queue, ['watch', runId]);
    const paused = await waitForStatus(client, runId, 'awaiting_approval');
    const callId = paused.pendingApprovals[0].callId;
    const command = `keel approve ${runId} ${callId} --by NAME`;
    await waitFor('the approve command in watch output', () => watch.output().includes(command), 30_000);
    await client.approve(runId, callId, { by: 'ann' });
    assert.equal(await watch.exit, 0, watch.output());
    const out = watch.output();
    for (const line of [
      '── turn 1',
      '→ open_vault {"door":"north"}',
      '⏸ waiting for approval: open_vault',
      `✓ approved ${callId} by ann`,
      '← open_vault: the north door is open',
      '── turn 2',
      'forty two gold bars',
      '✔ completed',
    ]) {
      assert.ok(out.includes(line), `watch output has '${line}':\n${out}`);
    }
    assert.equal(out.split('The vault holds forty two gold bars').length, 2, `the answer is printed once:\n${out}`);
    const order = ['← open_vault', '── turn 2', 'The vault holds'].map((text) => out.indexOf(text));
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      `the tool result, then turn 2, then its text:\n${out}`,
    );

    const broken = await client.startRun('live_broken', 'fail please');
    const failedWatch = startCli(queue, ['watch', broken]);
    assert.equal(await failedWatch.exit, 1, failedWatch.output());
    assert.match(failedWatch.output(), /✘ failed: .*scripted bad request/);
  });
});

test('keel chat holds a conversation driven through stdin and ends it at end of input', async () => {
  const queue = queueFor('live chat');
  const worker = await stack.worker(Object.values(liveAgents), queue, { broker: live.broker });
  await worker.runUntil(async () => {
    const chat = startCli(queue, ['chat', 'live_chat', '--id', `chat-${queue}`]);
    chat.child.stdin.write('hello there\n');
    await waitFor('the first answer', () => chat.output().includes('answer number 0'), 30_000);
    chat.child.stdin.write('and for tomorrow?\n');
    await waitFor('the second answer', () => chat.output().includes('answer number 1'), 30_000);
    chat.child.stdin.end();
    assert.equal(await chat.exit, 0, chat.output());
    const state = await stack.client(queue).getState(`chat-${queue}`);
    assert.equal(state.status, 'completed');
    const users = state.items
      .filter((i) => i.type === 'message' && i.role === 'user')
      .map((i) => (i.type === 'message' ? i.content : ''));
    assert.deepEqual(users, ['hello there', 'and for tomorrow?']);
    assert.equal(chat.output().split('answer number 1').length, 2, `each answer printed once:\n${chat.output()}`);
  });
});
