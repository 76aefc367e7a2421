/**
 * `toolChecks`, shared by function, sandbox and MCP tools: a call runs the tool guardrails its run's spec pinned,
 * by name and kind, whatever else the worker has; a pinned one the worker lacks is a retryable error naming it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ToolGuardrail } from '../../src/agents/guardrails.js';
import { toolChecks } from '../../src/tools/call.js';
import type { RunToolInput } from '../../src/activities/types.js';
import { KeelError } from '../../src/errors.js';
import { toActivityFailure } from '../../src/activities/failures.js';

const guardrail = (name: string): ToolGuardrail => ({ name, execute: () => ({ info: name }) });
const input = (pinned: RunToolInput['guardrails']): RunToolInput => ({
  agent: 'ops',
  workflowId: 'wf',
  call: { callId: 'call_0_0', name: 'deploy', arguments: '{}' },
  guardrails: pinned,
});
const names = (checks: ReturnType<typeof toolChecks>) => ({
  input: checks.input.map((c) => c.name),
  output: checks.output.map((c) => c.name),
});

describe('pinned tool guardrails', { timeout: 10_000 }, () => {
  test('only the pinned names run, in the pinned order; one the worker added later does not', () => {
    const available = {
      input: [guardrail('added'), guardrail('b'), guardrail('a')],
      output: [guardrail('o'), guardrail('added_out')],
    };
    assert.deepEqual(names(toolChecks(input({ input: ['a', 'b'], output: ['o'] }), available)), {
      input: ['a', 'b'],
      output: ['o'],
    });
    assert.deepEqual(names(toolChecks(input({ input: [], output: [] }), available)), { input: [], output: [] });
  });

  test('a pinned guardrail the worker lacks (or has only as the other kind) fails naming it, retried like undeployed code', () => {
    const available = { input: [guardrail('a')], output: [guardrail('moved')] };
    const expected =
      /agent 'ops', tool 'deploy': this run's spec pinned the tool input guardrail 'moved', which this worker does not have/;
    assert.throws(
      () => toolChecks(input({ input: ['a', 'moved'], output: [] }), available),
      (err: unknown) => {
        assert.ok(err instanceof KeelError && err.code === 'transient');
        assert.match(err.message, expected);
        assert.equal((toActivityFailure(err) as { nonRetryable?: boolean }).nonRetryable, false);
        return true;
      },
    );
    assert.throws(
      () => toolChecks(input({ input: [], output: ['gone'] }), available),
      /pinned the tool output guardrail 'gone'/,
    );
  });
});
