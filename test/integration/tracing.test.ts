/**
 * Tracing and metrics of a real run with a tool call and an approval: spans exported over OTLP (configured by
 * the standard OTEL_* variables) to a real Jaeger started here, read back through Jaeger's query API as a tree
 * (Temporal's workflow and activity spans with Keel's run, turn, model-call, tool and approval-wait spans in
 * between); and the worker's Prometheus endpoint scraped for runs by status, tokens, tool calls, approval wait.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { startJaeger, type Jaeger, type JaegerSpan } from '../helpers/jaeger.js';
import { waitFor, waitForStatus } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let jaeger: Jaeger;
const service = `keel-tracing-test-${Date.now().toString(36)}`;

before(async () => {
  jaeger = await startJaeger();
  // The worker reads these when its tracing is set up (first worker of the process).
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = jaeger.otlpTracesUrl;
  process.env.OTEL_SERVICE_NAME = service;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
  await jaeger?.stop();
});

const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;

/** The span tree as `parent > child` lines (by operation name), for asserting structure. */
function tree(spans: JaegerSpan[]) {
  const byId = new Map(spans.map((s) => [s.spanID, s]));
  const parent = (s: JaegerSpan) => byId.get(s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
  const one = (name: string) => {
    const found = spans.filter((s) => s.operationName === name);
    assert.equal(found.length, 1, `exactly one span '${name}' (have: ${spans.map((s) => s.operationName).join(', ')})`);
    return found[0];
  };
  /** The nearest ancestor of `s` whose name matches. */
  const ancestor = (s: JaegerSpan, name: RegExp) => {
    for (let p = parent(s); p; p = parent(p)) if (name.test(p.operationName)) return p;
    return undefined;
  };
  return { parent, one, ancestor };
}

test('a run with a tool call and an approval: the span tree in Jaeger, and the worker metrics', async () => {
  stack.model.setScript('traced', {
    steps: [
      { toolCalls: [{ name: 'lookup', arguments: { key: 'eu' } }] },
      { toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] },
      { message: 'Deployed to prod.' },
    ],
  });
  const lookup = tool({
    name: 'lookup',
    description: 'look up',
    parameters: z.object({ key: z.string() }),
    execute: ({ key }) => `region ${key}`,
  });
  const deploy = tool({
    name: 'deploy',
    description: 'deploy',
    parameters: z.object({ env: z.string() }),
    needsApproval: true,
    execute: ({ env }) => `deployed ${env}`,
  });
  const agent = new Agent({
    name: 'tracer',
    instructions: 'Deploy carefully.',
    model: 'traced',
    tools: [lookup, deploy],
  });
  const queue = queueFor('tracing');
  const worker = await stack.worker([agent], queue, { metricsPort: 0 });
  const client = stack.client(queue);
  assert.match(worker.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  let metrics = '';
  const { id, state } = await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'deploy to prod');
    await waitForStatus(client, id, 'awaiting_approval');
    await client.approve(id, 'call_1_0', { by: 'ann' });
    await client.result(id);
    metrics = await (await fetch(worker.metricsUrl!)).text();
    return { id, state: await client.getState(id) };
  });

  // Metrics: scraped while the worker ran.
  const value = (line: string) =>
    Number(new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(metrics)?.[1]);
  assert.equal(value('keel_runs_total{agent="tracer",status="started"}'), 1);
  assert.equal(value('keel_runs_total{agent="tracer",status="awaiting_approval"}'), 1);
  assert.equal(value('keel_runs_total{agent="tracer",status="completed"}'), 1);
  assert.equal(value('keel_model_tokens_total{agent="tracer",model="traced",type="input"}'), state.usage.inputTokens);
  assert.equal(value('keel_model_tokens_total{agent="tracer",model="traced",type="output"}'), state.usage.outputTokens);
  assert.equal(value('keel_model_calls_total{agent="tracer",model="traced",outcome="ok"}'), 3);
  assert.equal(value('keel_tool_calls_total{agent="tracer",tool="lookup",outcome="ok"}'), 1);
  assert.equal(value('keel_tool_calls_total{agent="tracer",tool="deploy",outcome="ok"}'), 1);
  assert.equal(value('keel_approval_wait_seconds_count{agent="tracer",tool="deploy",decision="approve"}'), 1);
  assert.ok(value('keel_approval_wait_seconds_sum{agent="tracer",tool="deploy",decision="approve"}') > 0);

  // Traces: one trace for the run, in Jaeger.
  const spans = await waitFor(
    "the run's trace in Jaeger",
    async () => {
      const traces = await jaeger.traces(service);
      const run = traces.find((t) =>
        t.some((s) => s.operationName === 'invoke_agent tracer' && tag(s, 'keel.run_id') === id),
      );
      // Complete once the last turn's model span and the run span are both in.
      return run &&
        run.filter((s) => s.operationName.startsWith('chat ')).length === 3 &&
        run.some((s) => s.operationName === 'RunWorkflow:agentRun')
        ? run
        : undefined;
    },
    30_000,
  );
  const { parent, one, ancestor } = tree(spans);

  const runWorkflow = one('RunWorkflow:agentRun');
  const invoke = one('invoke_agent tracer');
  assert.equal(parent(invoke)?.spanID, runWorkflow.spanID, "invoke_agent inside Temporal's workflow span");
  assert.equal(tag(invoke, 'gen_ai.operation.name'), 'invoke_agent');
  const turns = [1, 2, 3].map((n) => one(`turn ${n}`));
  for (const t of turns) assert.equal(parent(t)?.spanID, invoke.spanID, `${t.operationName} is a child of the run`);

  // Each model call: Temporal's StartActivity > RunActivity, then Keel's GenAI span, under its turn.
  const chats = spans.filter((s) => s.operationName === 'chat traced').sort((a, b) => a.startTime - b.startTime);
  chats.forEach((chat, i) => {
    assert.equal(parent(chat)?.operationName, 'RunActivity:callModel');
    assert.equal(parent(parent(chat)!)?.operationName, 'StartActivity:callModel');
    assert.equal(ancestor(chat, /^turn /)?.spanID, turns[i].spanID, `model call ${i + 1} under turn ${i + 1}`);
    assert.equal(tag(chat, 'gen_ai.request.model'), 'traced');
    assert.equal(tag(chat, 'gen_ai.system'), 'openai');
    assert.equal(tag(chat, 'gen_ai.agent.name'), 'tracer');
    assert.ok(
      Number(tag(chat, 'gen_ai.usage.input_tokens')) > 0 && Number(tag(chat, 'gen_ai.usage.output_tokens')) > 0,
    );
  });
  const tokens = chats.reduce(
    (n, c) => n + Number(tag(c, 'gen_ai.usage.input_tokens')) + Number(tag(c, 'gen_ai.usage.output_tokens')),
    0,
  );
  assert.equal(tokens, state.usage.totalTokens, "token usage on the spans adds up to the run's");

  const lookupSpan = one('execute_tool lookup');
  assert.equal(parent(lookupSpan)?.operationName, 'RunActivity:runTool');
  assert.equal(ancestor(lookupSpan, /^turn /)?.spanID, turns[0].spanID);
  assert.deepEqual(
    [
      tag(lookupSpan, 'gen_ai.tool.name'),
      tag(lookupSpan, 'gen_ai.tool.call.id'),
      tag(lookupSpan, 'gen_ai.operation.name'),
    ],
    ['lookup', 'call_0_0', 'execute_tool'],
  );

  const wait = one('approval_wait');
  assert.equal(parent(wait)?.spanID, turns[1].spanID, 'the approval wait is part of turn 2');
  assert.match(String(tag(wait, 'keel.approval.decisions')), /approve/);
  const deploySpan = one('execute_tool deploy');
  assert.equal(ancestor(deploySpan, /^turn /)?.spanID, turns[1].spanID);
  assert.ok(
    deploySpan.startTime >= wait.startTime + wait.duration - 1000,
    'the approved tool ran after the wait ended',
  );

  assert.equal(ancestor(one('RunActivity:resolveAgent'), /^invoke_agent/)?.spanID, invoke.spanID);
  assert.equal(new Set(spans.map((s) => s.traceID)).size, 1, 'one trace for the whole run');
});
