/**
 * Pure parts of observability: activity spans per the GenAI conventions, Web UI summaries and the approve hint,
 * the audit's diffs and Markdown escaping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activitySpan, resultAttributes } from '../../src/observability/activity-spans.js';
import {
  briefArguments,
  codeSpan,
  failedSinceLastTurn,
  modelSummary,
  pendingDetails,
  toolSummary,
} from '../../src/workflows/summaries.js';
import { deriveCommands, deriveFileChanges, unifiedDiff } from '../../src/audit/tool-effects.js';
import { metricsPortFromEnv } from '../../src/observability/metrics.js';
import type { RunItem } from '../../src/workflows/run-state.js';

test('activity spans: chat <model> with gen_ai usage, execute_tool <name>, sandbox operations', () => {
  const chat = activitySpan('callModel', {
    specRef: { ref: 'sha256:x', agent: 'a', model: 'gpt-x' },
    workflowId: 'w',
    turn: 2,
  });
  assert.equal(chat.name, 'chat gpt-x');
  assert.deepEqual(
    [
      chat.attributes['gen_ai.operation.name'],
      chat.attributes['gen_ai.request.model'],
      chat.attributes['gen_ai.agent.name'],
      chat.attributes['keel.turn'],
    ],
    ['chat', 'gpt-x', 'a', 2],
  );
  const usage = resultAttributes('callModel', {
    usage: { inputTokens: 10, outputTokens: 3 },
    items: [{ type: 'tool_call', name: 'ls' }],
  });
  assert.deepEqual(usage, {
    'gen_ai.usage.input_tokens': 10,
    'gen_ai.usage.output_tokens': 3,
    'gen_ai.response.finish_reasons': ['tool_calls'],
    'keel.tool_calls': ['ls'],
  });
  const t = activitySpan('runTool', {
    agent: 'a',
    call: { callId: 'c1', name: 'exec_command', arguments: '{}' },
    sandbox: { containerId: 'k', host: 'h' },
  });
  assert.equal(t.name, 'execute_tool exec_command');
  assert.deepEqual(
    [t.attributes['gen_ai.tool.name'], t.attributes['gen_ai.tool.call.id'], t.attributes['gen_ai.tool.type']],
    ['exec_command', 'c1', 'extension'],
  );
  assert.equal(activitySpan('snapshotSandbox', { session: { containerId: 'k', host: 'h' } }).name, 'sandbox.snapshot');
});

test('summaries: brief arguments, failed calls since the last model output, the approve hint intact', () => {
  assert.equal(briefArguments(JSON.stringify({ cmd: 'ls -la\n  /tmp' })), 'ls -la /tmp');
  assert.equal(
    briefArguments(
      JSON.stringify({ patch: '*** Begin Patch\n*** Update File: a.py\n*** Add File: b.py\n*** End Patch' }),
    ),
    'U a.py, A b.py',
  );
  assert.equal(
    toolSummary({ name: 'deploy', arguments: '{"env":"prod","force":true}' }),
    'tool deploy · env=prod, force=true',
  );
  assert.equal(briefArguments(JSON.stringify({ cmd: 'y'.repeat(200) })).length, 80);
  const items: RunItem[] = [
    { type: 'tool_call', callId: 'a', name: 'lookup', arguments: '{}', agent: 'x' },
    { type: 'tool_result', callId: 'a', name: 'lookup', output: 'Error', isError: true },
    { type: 'tool_result', callId: 'b', name: 'ok', output: 'fine', isError: false },
  ];
  assert.deepEqual(failedSinceLastTurn(items), ['lookup']);
  assert.equal(modelSummary('m', 3, items), 'model m · turn 3 · after ✗ lookup failed');
  assert.equal(modelSummary('m', 1, []), 'model m · turn 1');
  const details = pendingDetails(
    [{ callId: 'call_1_0', tool: 'deploy', arguments: '{"env":"a`b"}', agent: 'x', requestedAt: '' }],
    'run-1',
  );
  assert.match(details, /\n```\nkeel approve run-1 call_1_0 --by YOUR_NAME\n```$/);
  assert.match(details, /``\s\{"env":"a`b"\}\s``/, 'arguments with a backtick still one code span');
  assert.equal(codeSpan('<a> -- b'), '`<a> -- b`');
});

test('audit: write_file diffs against what the run read; commands with exit codes', () => {
  const calls = [
    { callId: '1', tool: 'read_file', arguments: '{"path":"n.txt"}', output: 'a\nb\nc\n', isError: false },
    {
      callId: '2',
      tool: 'write_file',
      arguments: JSON.stringify({ path: 'n.txt', content: 'a\nB\nc\nd\n' }),
      output: 'wrote',
      isError: false,
    },
    {
      callId: '3',
      tool: 'write_file',
      arguments: JSON.stringify({ path: 'new.txt', content: 'x\n' }),
      output: 'wrote',
      isError: false,
    },
    { callId: '4', tool: 'exec_command', arguments: '{"cmd":"false"}', output: 'exit code: 1\n', isError: true },
  ];
  const [first, second] = deriveFileChanges(calls);
  assert.equal(first.diff, '--- a/n.txt\n+++ b/n.txt\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d');
  assert.match(second.diff, /previous content not recorded[\s\S]*\n\+x$/);
  assert.deepEqual(deriveCommands(calls), [{ callId: '4', cmd: 'false', exitCode: 1, output: 'exit code: 1\n' }]);
  assert.equal(unifiedDiff('f', 'same\n', 'same\n'), '--- a/f\n+++ b/f\n@@ -1,1 +1,1 @@\n same');
});

test('KEEL_METRICS_PORT: unset means no endpoint; a bad value is one clear error', () => {
  assert.equal(metricsPortFromEnv({}), undefined);
  assert.equal(metricsPortFromEnv({ KEEL_METRICS_PORT: '9464' }), 9464);
  assert.throws(() => metricsPortFromEnv({ KEEL_METRICS_PORT: 'abc' }), /KEEL_METRICS_PORT must be a port number/);
});
