/**
 * The definition side of multi-agent runs (agent tools and configured handoffs in the AgentSpec) and the pure
 * tree logic the client and CLI use (finding who asked for an approval, the tree view, usage roll-up).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { handoff, handoffFilters } from '../../src/agents/handoff.js';
import { AgentRegistry } from '../../src/tools/registry.js';
import { pairedToolItems } from '../../src/activities/multi-agent.js';
import { approvalOwner, formatTree, readTree, treeApprovals } from '../../src/run-tree.js';
import { initialRunState, type RunItem, type RunState } from '../../src/workflows/run-state.js';
import { childOutput, treeUsage } from '../../src/workflows/child-runs.js';

const ctx = { agent: 'x', workflowId: 'wf', context: undefined };

describe('agent tools and handoffs in the AgentSpec', () => {
  test('asTool: kind agent, default { input } schema or the zod schema, sub-agent registered', async () => {
    const reviewer = new Agent({ name: 'reviewer', instructions: 'review' });
    const typed = new Agent({ name: 'typed', instructions: 'typed' });
    const lead = new Agent({
      name: 'lead',
      instructions: 'lead',
      tools: [
        reviewer.asTool({ description: 'Reviews' }),
        typed.asTool({ name: 'check', description: 'Checks', input: z.object({ path: z.string() }), maxTurns: 3 }),
      ],
    });
    const registry = new AgentRegistry([lead]);
    assert.deepEqual(registry.names().sort(), ['lead', 'reviewer', 'typed']);
    const spec = await registry.resolve('lead', ctx);
    const [run, check] = spec.tools.filter((t) => t.kind === 'agent');
    assert.deepEqual(
      [run.name, run.kind, run.agent],
      ['run_reviewer', 'agent', { name: 'reviewer', customInput: false }],
    );
    assert.deepEqual(run.parameters.required, ['input']);
    assert.deepEqual(check.agent, { name: 'typed', customInput: true, maxTurns: 3 });
    assert.deepEqual(Object.keys(check.parameters.properties as object), ['path']);
    assert.equal(registry.functionTool('lead', 'check'), undefined, 'an agent tool is not a function tool');
    assert.equal(registry.agentTool('lead', 'check')?.agent, typed);
    assert.throws(() => reviewer.asTool({ name: 'bad name', description: 'x' }), /must match/);
  });

  test('handoff(): typed input in the tool schema, prepare flags only when options are set', async () => {
    const billing = new Agent({ name: 'billing', instructions: 'b' });
    const plain = new Agent({ name: 'plain', instructions: 'p' });
    const triage = new Agent({
      name: 'triage',
      instructions: 't',
      handoffs: [
        handoff(billing, { inputType: z.object({ invoice: z.string() }), inputFilter: handoffFilters.removeToolItems }),
        plain,
      ],
    });
    const spec = await new AgentRegistry([triage]).resolve('triage', ctx);
    assert.deepEqual(spec.handoffs[0].prepare, { input: true, hook: false, filter: true });
    assert.equal(spec.handoffs[1].prepare, undefined);
    const tool = spec.tools.find((t) => t.name === 'transfer_to_billing')!;
    assert.deepEqual(Object.keys(tool.parameters.properties as object), ['invoice']);
  });

  test('an input filter that drops one side of a tool call loses the other side too', () => {
    const items: RunItem[] = [
      { type: 'message', role: 'user', content: 'hi' },
      { type: 'tool_call', callId: 'a', name: 't', arguments: '{}', agent: 'x' },
      { type: 'tool_result', callId: 'a', name: 't', output: 'ok', isError: false },
      { type: 'tool_result', callId: 'b', name: 't', output: 'orphan', isError: false },
    ];
    assert.deepEqual(
      pairedToolItems(items).map((i) => i.type),
      ['message', 'tool_call', 'tool_result'],
    );
    assert.deepEqual(
      handoffFilters.removeToolItems(items).map((i) => i.type),
      ['message'],
    );
  });
});

function runState(runId: string, patch: Partial<RunState> = {}): RunState {
  return { ...initialRunState({ runId, agent: 'a', input: 'go', now: 't' }), ...patch };
}

describe('the run tree', () => {
  const usage = (n: number) => ({ inputTokens: n, outputTokens: 0, totalTokens: n, requests: 1 });
  const states: Record<string, RunState> = {
    root: runState('root', {
      usage: usage(10),
      children: [
        { runId: 'root/c1', agent: 'a', callId: 'c1', status: 'running' },
        { runId: 'root/c2', agent: 'a', callId: 'c2', status: 'completed', usage: usage(5), finalOutput: { ok: true } },
      ],
      pendingApprovals: [{ callId: 'x', tool: 'deploy', arguments: '{}', agent: 'a', requestedAt: 't' }],
    }),
    'root/c1': runState('root/c1', {
      status: 'awaiting_approval',
      pendingApprovals: [
        { callId: 'call_0_0', tool: 'exec_command', arguments: '{"cmd":"ls"}', agent: 'a', requestedAt: 't' },
        { callId: 'x', tool: 'deploy', arguments: '{}', agent: 'a', requestedAt: 't' },
      ],
    }),
  };
  const query = async (id: string) => {
    if (!states[id]) throw new Error(`queried ${id}, which has ended`);
    return states[id];
  };

  test('reads running children live, ended ones from the record; finds who asked', async () => {
    const tree = await readTree('root', query);
    assert.deepEqual(
      tree.children.map((c) => [c.runId, c.status, Boolean(c.state)]),
      [
        ['root/c1', 'awaiting_approval', true],
        ['root/c2', 'completed', false],
      ],
    );
    assert.deepEqual(
      treeApprovals(tree).map((p) => `${p.runId}:${p.callId}`),
      ['root:x', 'root/c1:call_0_0', 'root/c1:x'],
    );
    assert.equal(approvalOwner(tree, 'call_0_0'), 'root/c1');
    assert.equal(approvalOwner(tree, 'x'), 'root', 'the root itself comes first');
    assert.equal(approvalOwner(tree, 'nope'), 'root', 'a miss goes to the root, whose validator explains it');
    const lines = formatTree(tree);
    assert.match(lines[0], /^root {2}agent=a {2}status=running {2}turn=0 {2}tokens=10$/);
    assert.ok(lines.includes('  root/c1  agent=a  status=awaiting_approval  turn=0  tokens=0'), lines.join('\n'));
    assert.ok(lines.includes('    pending call_0_0 exec_command {"cmd":"ls"}'), lines.join('\n'));
    assert.ok(lines.includes('  root/c2  agent=a  status=completed  tokens=5'), lines.join('\n'));
  });

  test('usage rolls up; a child outcome becomes the tool result', () => {
    assert.equal(treeUsage(states.root).totalTokens, 15);
    assert.deepEqual(childOutput({ runId: 'r/1', agent: 'a', status: 'completed', finalOutput: { ok: true } }), {
      output: '{"ok":true}',
      isError: false,
    });
    assert.deepEqual(childOutput({ runId: 'r/1', agent: 'a', status: 'completed', finalOutput: 'text' }), {
      output: 'text',
      isError: false,
    });
    const failed = childOutput({
      runId: 'r/1',
      agent: 'a',
      status: 'failed',
      error: { type: 'MaxTurnsExceeded', message: 'too long' },
    });
    assert.deepEqual(failed, { output: 'Error: sub-agent a (r/1) failed: MaxTurnsExceeded: too long', isError: true });
  });
});
