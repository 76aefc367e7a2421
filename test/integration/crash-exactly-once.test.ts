/**
 * Exactly-once commands across a worker crash at the worst moment: the command has run and appended its line, but
 * the worker dies (SIGKILL, from the `after-exec` crash point) before the activity reports the result. Temporal
 * retries the activity on a new worker; the in-sandbox journal returns the recorded result instead of running the
 * command again, so the file keeps exactly one line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crashAgents } from '../helpers/crash-agents.js';
import { assertPaidOnce, WorkerProcesses } from '../helpers/crash.js';
import { toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { createSandbox, requireImage } from '../helpers/sandbox-fixture.js';
import { execCall as exec } from '../helpers/script-steps.js';

let stack: TestStack;
let workers: WorkerProcesses;
before(async () => {
  await requireImage();
  stack = await startTestStack();
  workers = new WorkerProcesses(stack);
});
after(async () => {
  await workers?.stopAll();
  await stack?.close();
});

const append = 'echo line >> /workspace/once.txt; wc -l < /workspace/once.txt';

describe('exactly-once commands', () => {
  test('a command whose worker died before reporting runs once; the retry returns its journalled result', async () => {
    const agent = crashAgents.exactlyOnce;
    const script = agent.options.model as string;
    stack.model.setScript(script, {
      steps: [
        { toolCalls: [exec(append)] },
        { toolCalls: [exec('cat /workspace/once.txt')] },
        { message: 'appended once' },
      ],
    });
    const queue = queueFor('crash-exactly-once');
    const a = await workers.start(queue, 'host-1', { crashPoint: 'after-exec' });
    const client = stack.client(queue);
    const id = await client.startRun(agent, 'go');
    const died = await a.exited;
    assert.equal(died.signal, 'SIGKILL', `worker A should have killed itself at the crash point:\n${a.output()}`);
    const diedAt = Date.now();
    await workers.start(queue, 'host-1');

    const result = await client.result(id);
    assert.equal(result.finalOutput, 'appended once');
    console.log(`[crash-exactly-once] worker died → run completed in ${Date.now() - diedAt} ms`);
    assertPaidOnce(stack.model.stats(script), 3);
    const [appended, cat] = toolResults(await client.getState(id));
    assert.match(
      appended.output,
      /\(this command had already run; its recorded result is returned instead of running it again\)\nstdout:\n1\n?$/,
    );
    assert.match(cat.output, /stdout:\nline\n?$/);
    const events = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
    const attempts = events.flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : [],
    );
    assert.ok(attempts.includes(2), `the command's activity was retried (attempts: ${attempts.join(', ')})`);
  });

  test('the negative: the same retry without the idempotency key appends the line twice', async () => {
    // What the dead attempt did, then what its retry does with and without the journal (runCommand skips the
    // journal lookup when there is no key).
    await using sandbox = await createSandbox('crash-exactly-once');
    const key = 'wf-negative/call_0_0';
    assert.equal((await sandbox.exec({ cmd: append, idempotencyKey: key })).stdout, '1\n');
    const retried = await sandbox.exec({ cmd: append, idempotencyKey: key });
    assert.deepEqual([retried.replayed, retried.stdout], [true, '1\n']);
    const unkeyed = await sandbox.exec({ cmd: append });
    assert.deepEqual([unkeyed.replayed, unkeyed.stdout], [false, '2\n']);
  });
});
