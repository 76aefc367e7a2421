/**
 * Guardrails end to end on a real Temporal dev server: input guardrails (parallel with the first model call, or
 * blocking), output guardrails, tool-input and tool-output guardrails — each tripping (a typed run failure) and
 * not tripping, and every outcome recorded in RunState as a `guardrail` item.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import type { ApprovalSetting } from '../../src/agents/approval.js';
import type { InputGuardrail, OutputGuardrail, ToolGuardrail } from '../../src/agents/guardrails.js';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError, type KeelClient } from '../../src/client.js';
import type { Script } from '../../src/testing/script.js';
import type { CreateWorkerOptions } from '../../src/worker.js';
import type { RunItem, RunState } from '../../src/workflows/run-state.js';
import { capturingOpenAI, scheduledActivities, waitFor, waitForStatus } from '../helpers/runs.js';
import { oneAgent, type OneAgentOptions } from '../helpers/one-agent.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

type GuardrailItem = Extract<RunItem, { type: 'guardrail' }>;
type ToolResultItem = Extract<RunItem, { type: 'tool_result' }>;
const guardrailItems = (s: RunState) => s.items.filter((i): i is GuardrailItem => i.type === 'guardrail');
const toolResults = (s: RunState) => s.items.filter((i): i is ToolResultItem => i.type === 'tool_result');

/** A `run_job` tool that records each execution. */
function jobTool(
  executed: string[],
  extra: {
    inputGuardrails?: ToolGuardrail[];
    outputGuardrails?: ToolGuardrail[];
    needsApproval?: ApprovalSetting<{ job: string }>;
  } = {},
) {
  return tool({
    name: 'run_job',
    description: 'Run a job',
    parameters: z.object({ job: z.string() }),
    execute: ({ job }) => {
      executed.push(job);
      return `job ${job} done; token=abc123`;
    },
    ...extra,
  });
}

const setup = (name: string, script: Script, options: OneAgentOptions, workerOptions?: Partial<CreateWorkerOptions>) =>
  oneAgent(stack, name, script, options, workerOptions);

/** Runs `agent` on `input` to its end; returns the failure (if any) and the final RunState. */
async function run(client: KeelClient, agent: Agent, input: string) {
  const id = await client.startRun(agent, input);
  const error = await client.result(id).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { id, error, state: await client.getState(id) };
}

function assertFailed(error: unknown, type: string, message: RegExp): asserts error is RunFailedError {
  assert.ok(error instanceof RunFailedError, `expected RunFailedError ${type}, got ${String(error)}`);
  assert.equal(error.type, type);
  assert.match(error.message, message);
}

/** Activity events of the run's history: which callModel attempts completed, which were asked to cancel. */
async function modelCallEvents(client: KeelClient, id: string) {
  const events = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
  const modelScheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel')
      .map((e) => String(e.eventId)),
  );
  return {
    completed: events.filter((e) =>
      modelScheduled.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)),
    ).length,
    cancelRequested: events.filter((e) =>
      modelScheduled.has(String(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId)),
    ).length,
  };
}

const noSecrets = (extra: Partial<InputGuardrail> = {}): InputGuardrail => ({
  name: 'no_secrets',
  execute: (input) =>
    input.includes('password') ? { tripwire: true, info: { found: 'password' } } : { info: { clean: true } },
  ...extra,
});

describe('input guardrails', () => {
  test('parallel: trips while the first model call is in flight — typed failure, no tool runs', async () => {
    const executed: string[] = [];
    const name = 'gr-parallel-trip';
    const guard = noSecrets({
      // Trip only once the model call has reached the model, so the call is certainly in flight.
      execute: async (input) => {
        await waitFor('the first model request', () => stack.model.stats(name).requests >= 1, 10_000);
        return input.includes('password') ? { tripwire: true, info: { found: 'password' } } : {};
      },
    });
    const { agent, worker, client } = await setup(
      name,
      {
        steps: [{ delayMs: 2000, toolCalls: [{ name: 'run_job', arguments: { job: 'leak' } }] }, { message: 'never' }],
      },
      { tools: [jobTool(executed)], inputGuardrails: [guard] },
    );
    await worker.runUntil(async () => {
      const { id, error, state } = await run(client, agent, 'my password is hunter2');
      assertFailed(error, 'InputGuardrailTripwire', /input guardrail no_secrets tripped: \{"found":"password"\}/);
      assert.equal(state.status, 'failed');
      assert.deepEqual(state.error?.type, 'InputGuardrailTripwire');
      assert.deepEqual(guardrailItems(state), [
        { type: 'guardrail', kind: 'input', name: 'no_secrets', tripped: true, info: { found: 'password' } },
      ]);
      assert.ok(!state.items.some((i) => i.type === 'tool_call'), 'the cancelled turn was recorded');
      assert.deepEqual(executed, []);
      assert.ok(!(await scheduledActivities(client, id)).includes('runTool'));
      // The model call was cancelled rather than awaited.
      assert.deepEqual(await modelCallEvents(client, id), { completed: 0, cancelRequested: 1 });
      assert.equal(stack.model.stats(name).requests, 1);
    });
  });

  test('parallel: a guardrail slower than the model still trips before any tool runs', async () => {
    const executed: string[] = [];
    const reader = stack.client('history-reader'); // any queue: it only reads the run's history
    const guard = noSecrets({
      // Trip only after the model's first turn (which asks for a tool) is in history.
      execute: async (input, ctx) => {
        await waitFor(
          'the first model call to complete',
          async () => (await modelCallEvents(reader, ctx.workflowId)).completed >= 1,
          10_000,
        );
        return input.includes('password') ? { tripwire: true, info: { found: 'password' } } : {};
      },
    });
    const { agent, worker, client } = await setup(
      'gr-parallel-slow',
      { steps: [{ toolCalls: [{ name: 'run_job', arguments: { job: 'leak' } }] }, { message: 'never' }] },
      { tools: [jobTool(executed)], inputGuardrails: [guard] },
    );
    await worker.runUntil(async () => {
      const { id, error, state } = await run(client, agent, 'my password is hunter2');
      assertFailed(error, 'InputGuardrailTripwire', /no_secrets/);
      assert.deepEqual((await modelCallEvents(client, id)).completed, 1);
      assert.deepEqual(executed, []);
      assert.ok(!(await scheduledActivities(client, id)).includes('runTool'));
      assert.deepEqual(
        guardrailItems(state).map((g) => [g.kind, g.name, g.tripped]),
        [['input', 'no_secrets', true]],
      );
    });
  });

  test('parallel: a passing guardrail lets the run go on, and its outcome is recorded', async () => {
    const executed: string[] = [];
    const { agent, worker, client } = await setup(
      'gr-parallel-pass',
      { steps: [{ toolCalls: [{ name: 'run_job', arguments: { job: 'build' } }] }, { message: 'built' }] },
      { tools: [jobTool(executed)], inputGuardrails: [noSecrets()] },
    );
    await worker.runUntil(async () => {
      const { error, state } = await run(client, agent, 'please build');
      assert.equal(error, undefined);
      assert.equal(state.finalOutput, 'built');
      assert.deepEqual(executed, ['build']);
      assert.deepEqual(guardrailItems(state), [
        { type: 'guardrail', kind: 'input', name: 'no_secrets', tripped: false, info: { clean: true } },
      ]);
    });
  });

  test('blocking: a tripping guardrail means the model is never called; a passing one lets it run', async () => {
    const name = 'gr-blocking';
    const { agent, worker, client } = await setup(
      name,
      { steps: [{ message: 'hello' }] },
      { inputGuardrails: [noSecrets({ mode: 'blocking' })] },
    );
    await worker.runUntil(async () => {
      const tripped = await run(client, agent, 'my password is hunter2');
      assertFailed(tripped.error, 'InputGuardrailTripwire', /no_secrets/);
      assert.equal(stack.model.stats(name).requests, 0);
      assert.ok(!(await scheduledActivities(client, tripped.id)).includes('callModel'));
      assert.deepEqual(
        guardrailItems(tripped.state).map((g) => [g.kind, g.tripped]),
        [['input', true]],
      );

      const passed = await run(client, agent, 'hi there');
      assert.equal(passed.error, undefined);
      assert.equal(passed.state.finalOutput, 'hello');
      assert.equal(stack.model.stats(name).requests, 1);
      assert.deepEqual(
        guardrailItems(passed.state).map((g) => [g.kind, g.tripped]),
        [['input', false]],
      );
    });
  });
});

describe('output guardrails', () => {
  const noLeak: OutputGuardrail = {
    name: 'no_leak',
    execute: (output) =>
      String(output).includes('SECRET')
        ? { tripwire: true, info: { reason: 'leaks a secret' } }
        : { info: { length: String(output).length } },
  };

  test('trip on the final output: OutputGuardrailTripwire, no final output', async () => {
    const { agent, worker, client } = await setup(
      'gr-output-trip',
      { steps: [{ message: 'the SECRET is 42' }] },
      { outputGuardrails: [noLeak] },
    );
    await worker.runUntil(async () => {
      const { error, state } = await run(client, agent, 'tell me');
      assertFailed(error, 'OutputGuardrailTripwire', /output guardrail no_leak tripped: \{"reason":"leaks a secret"\}/);
      assert.equal(state.finalOutput, undefined);
      assert.equal(state.status, 'failed');
      assert.deepEqual(guardrailItems(state), [
        { type: 'guardrail', kind: 'output', name: 'no_leak', tripped: true, info: { reason: 'leaks a secret' } },
      ]);
    });
  });

  test('pass: the final output stands and the check is recorded', async () => {
    const { agent, worker, client } = await setup(
      'gr-output-pass',
      { steps: [{ message: 'all fine' }] },
      { outputGuardrails: [noLeak] },
    );
    await worker.runUntil(async () => {
      const { error, state } = await run(client, agent, 'tell me');
      assert.equal(error, undefined);
      assert.equal(state.finalOutput, 'all fine');
      assert.deepEqual(guardrailItems(state), [
        { type: 'guardrail', kind: 'output', name: 'no_leak', tripped: false, info: { length: 8 } },
      ]);
    });
  });
});

describe('tool guardrails', () => {
  test('tool input trips: ToolGuardrailTripwire, the tool is not executed', async () => {
    const executed: string[] = [];
    const noDrop: ToolGuardrail = {
      name: 'no_drop',
      execute: ({ tool: t, arguments: args }) =>
        args.includes('drop') ? { tripwire: true, info: { tool: t, args } } : {},
    };
    const { agent, worker, client } = await setup(
      'gr-tool-input-trip',
      { steps: [{ toolCalls: [{ name: 'run_job', arguments: { job: 'drop-db' } }] }, { message: 'never' }] },
      { tools: [jobTool(executed, { inputGuardrails: [noDrop] })] },
    );
    await worker.runUntil(async () => {
      const { error, state } = await run(client, agent, 'drop it');
      assertFailed(error, 'ToolGuardrailTripwire', /tool guardrail no_drop tripped on run_job/);
      assert.deepEqual(executed, []);
      assert.deepEqual(guardrailItems(state), [
        {
          type: 'guardrail',
          kind: 'tool_input',
          name: 'no_drop',
          tripped: true,
          callId: 'call_0_0',
          info: { tool: 'run_job', args: '{"job":"drop-db"}' },
        },
      ]);
      assert.deepEqual(
        toolResults(state).map((r) => [r.output, r.isError]),
        [['blocked by guardrail no_drop', true]],
      );
      assert.equal(stack.model.stats('gr-tool-input-trip').requests, 1);
    });
  });

  test('tool input replaces the arguments, and runs only after approval', async () => {
    const executed: string[] = [];
    let checks = 0;
    const safeJob: ToolGuardrail = {
      name: 'safe_job',
      execute: ({ arguments: args }) => {
        checks++;
        const { job } = JSON.parse(args) as { job: string };
        return { replace: JSON.stringify({ job: `${job}-dry-run` }), info: { rewritten: true } };
      },
    };
    const { agent, worker, client } = await setup(
      'gr-tool-input-replace',
      { steps: [{ toolCalls: [{ name: 'run_job', arguments: { job: 'migrate' } }] }, { message: 'done' }] },
      { tools: [jobTool(executed, { inputGuardrails: [safeJob], needsApproval: true })] },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'migrate');
      await waitForStatus(client, id, 'awaiting_approval');
      assert.equal(checks, 0, 'the tool-input guardrail ran before approval');
      await client.approve(id, 'call_0_0', { by: 'ann' });
      await client.result(id);
      const state = await client.getState(id);
      assert.deepEqual(executed, ['migrate-dry-run']);
      assert.equal(checks, 1);
      assert.deepEqual(guardrailItems(state), [
        {
          type: 'guardrail',
          kind: 'tool_input',
          name: 'safe_job',
          tripped: false,
          callId: 'call_0_0',
          info: { rewritten: true },
        },
      ]);
      assert.equal(toolResults(state)[0].output, 'job migrate-dry-run done; token=abc123');
      // The model's call stays recorded as the model made it.
      assert.ok(state.items.some((i) => i.type === 'tool_call' && i.arguments === '{"job":"migrate"}'));
    });
  });

  test('tool output replaces the result the model sees', async () => {
    const executed: string[] = [];
    const redact: ToolGuardrail = {
      name: 'redact',
      execute: ({ output }) => ({ replace: output!.replace(/token=\w+/, 'token=[redacted]'), info: { redacted: 1 } }),
    };
    const { openai, inputs } = capturingOpenAI(stack.model.baseURL);
    const { agent, worker, client } = await setup(
      'gr-tool-output-replace',
      { steps: [{ toolCalls: [{ name: 'run_job', arguments: { job: 'build' } }] }, { message: 'built' }] },
      { tools: [jobTool(executed, { outputGuardrails: [redact] })] },
      { openai },
    );
    await worker.runUntil(async () => {
      const { error, state } = await run(client, agent, 'build');
      assert.equal(error, undefined);
      assert.deepEqual(executed, ['build']);
      assert.deepEqual(
        toolResults(state).map((r) => [r.output, r.isError]),
        [['job build done; token=[redacted]', false]],
      );
      assert.deepEqual(guardrailItems(state), [
        {
          type: 'guardrail',
          kind: 'tool_output',
          name: 'redact',
          tripped: false,
          callId: 'call_0_0',
          info: { redacted: 1 },
        },
      ]);
      const sent = JSON.stringify(inputs);
      assert.ok(sent.includes('token=[redacted]') && !sent.includes('abc123'), `the model saw the raw output: ${sent}`);
    });
  });

  test('tool output trips: ToolGuardrailTripwire, the output never reaches the model', async () => {
    const executed: string[] = [];
    const noTokens: ToolGuardrail = {
      name: 'no_tokens',
      execute: ({ output }) =>
        output?.includes('token=') ? { tripwire: true, info: { reason: 'credential in output' } } : {},
    };
    const { agent, worker, client } = await setup(
      'gr-tool-output-trip',
      { steps: [{ toolCalls: [{ name: 'run_job', arguments: { job: 'build' } }] }, { message: 'never' }] },
      { tools: [jobTool(executed, { outputGuardrails: [noTokens] })] },
    );
    await worker.runUntil(async () => {
      const { error, state } = await run(client, agent, 'build');
      assertFailed(
        error,
        'ToolGuardrailTripwire',
        /tool guardrail no_tokens tripped on run_job: \{"reason":"credential in output"\}/,
      );
      assert.deepEqual(executed, ['build']);
      assert.equal(stack.model.stats('gr-tool-output-trip').requests, 1);
      assert.deepEqual(guardrailItems(state), [
        {
          type: 'guardrail',
          kind: 'tool_output',
          name: 'no_tokens',
          tripped: true,
          callId: 'call_0_0',
          info: { reason: 'credential in output' },
        },
      ]);
      assert.ok(!toolResults(state).some((r) => r.output.includes('abc123')));
    });
  });
});

/**
 * A run executes the tool guardrails its spec pinned (issue 19): a deploy between two turns that adds a guardrail
 * does not reach the run in flight, and one that removes a pinned guardrail fails the call naming it.
 */
describe('pinned tool guardrails', { timeout: 180_000 }, () => {
  const audit = (name: string): ToolGuardrail => ({ name, execute: () => ({ info: { by: name } }) });
  const blockAll: ToolGuardrail = {
    name: 'block_all',
    execute: () => ({ tripwire: true, info: { deployed: 'later' } }),
  };
  // Turn 1 runs `first` at once; turn 2's `second` waits for approval, and the deploy happens while it waits.
  const steps = [
    { toolCalls: [{ name: 'run_job', arguments: { job: 'first' } }] },
    { toolCalls: [{ name: 'run_job', arguments: { job: 'second' } }] },
    { message: 'done' },
  ];
  const secondNeedsApproval = ({ job }: { job: string }) => job === 'second';

  /** Starts a run on a worker with `before`'s guardrails, parks it at turn 2, then serves it with `after`'s. */
  async function deployBetweenTurns(
    name: string,
    guardrails: { before: ToolGuardrail[]; after: ToolGuardrail[] },
    afterWorker: Partial<CreateWorkerOptions> = {},
  ) {
    stack.model.setScript(name, { steps });
    const executed: string[] = [];
    const version = (inputGuardrails: ToolGuardrail[]) =>
      new Agent({
        name,
        instructions: 'Do as asked.',
        model: name,
        tools: [jobTool(executed, { inputGuardrails, needsApproval: secondNeedsApproval })],
      });
    const queue = queueFor(name);
    const client = stack.client(queue);
    const id = await (
      await stack.worker([version(guardrails.before)], queue)
    ).runUntil(async () => {
      const started = await client.startRun(version(guardrails.before), 'go');
      await waitForStatus(client, started, 'awaiting_approval');
      return started;
    });
    const redeployed = version(guardrails.after);
    const worker = await stack.worker([redeployed], queue, afterWorker);
    return { id, client, executed, worker, redeployed };
  }

  test('a guardrail added by a deploy between two turns does not run in the run that started before it; new runs get it', async () => {
    const { id, client, executed, worker, redeployed } = await deployBetweenTurns('gr-pinned-added', {
      before: [audit('audit')],
      after: [audit('audit'), blockAll],
    });
    await worker.runUntil(async () => {
      await client.approve(id, 'call_1_0', { by: 'ann' });
      assert.equal((await client.result(id)).finalOutput, 'done');
      const state = await client.getState(id);
      assert.deepEqual(executed, ['first', 'second']);
      assert.deepEqual(
        guardrailItems(state).map((g) => [g.name, g.callId, g.tripped]),
        [
          ['audit', 'call_0_0', false],
          ['audit', 'call_1_0', false],
        ],
      );

      // The deploy is not ignored: a run that starts now pins both and trips on the new one.
      const { error } = await run(client, redeployed, 'go');
      assertFailed(error, 'ToolGuardrailTripwire', /tool guardrail block_all tripped on run_job/);
      assert.deepEqual(executed, ['first', 'second']);
    });
  });

  test('a pinned guardrail removed by a deploy between two turns fails the call naming it; the tool does not run', async () => {
    const retry = { deadlineMs: 1_000, initialIntervalMs: 100, maxIntervalMs: 200 }; // a rolling deploy gets retries; the test does not wait an hour
    const { id, client, executed, worker } = await deployBetweenTurns(
      'gr-pinned-removed',
      { before: [audit('audit')], after: [] },
      { modelRetry: retry },
    );
    await worker.runUntil(async () => {
      await client.approve(id, 'call_1_0', { by: 'ann' });
      const error = await client.result(id).then(
        () => undefined,
        (err: unknown) => err,
      );
      assertFailed(
        error,
        'KeelError',
        /tool 'run_job': this run's spec pinned the tool input guardrail 'audit', which this worker does not have/,
      );
      assert.deepEqual(executed, ['first'], 'the call was not run without its guardrail');
    });
  });
});
