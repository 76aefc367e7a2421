/**
 * `keel audit`: the audit document of a real sandbox run with an approval, checked against what the run really
 * did (its RunState, the container's files, the scripted model's requests); the same run audited while it waits
 * for the approval; a failed and a cancelled run; and the CLI's Markdown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { file } from '../../src/agents/manifest.js';
import { tool } from '../../src/agents/tool.js';
import { z } from 'zod';
import { auditRun, renderAuditMarkdown } from '../../src/audit/index.js';
import { loadRunEvents } from '../../src/audit/history.js';
import type { RunToolInput } from '../../src/activities/types.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { runCli } from '../helpers/cli.js';
import { capturingOpenAI, waitForStatus } from '../helpers/runs.js';
import { sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const blobs = () => new LocalBlobStore(path.join(stack.dataDir, 'blobs'));
const patch = [
  '*** Begin Patch',
  '*** Update File: app.py',
  '@@',
  '-print("hi")',
  '+print("hi, auditor")',
  '*** End Patch',
].join('\n');

describe('keel audit', () => {
  test('a sandbox run with an approval: model calls, commands with output, diffs, the approval, guardrails, usage', async () => {
    stack.model.setScript('audit-sb', {
      steps: [
        { toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt' } }] },
        { toolCalls: [{ name: 'write_file', arguments: { path: 'notes.txt', content: 'alpha\nBETA\ngamma\n' } }] },
        { toolCalls: [{ name: 'apply_patch', arguments: { patch } }] },
        {
          toolCalls: [{ name: 'exec_command', arguments: { cmd: 'python3 app.py; cat notes.txt; echo KEY=hunter2' } }],
        },
        { message: 'Audited work done.' },
      ],
    });
    const agent = new SandboxAgent({
      name: 'auditee',
      instructions: 'Edit notes and run the app.',
      model: 'audit-sb',
      manifest: { entries: { 'notes.txt': file('alpha\nbeta\ngamma\n'), 'app.py': file('print("hi")\n') } },
      capabilities: [
        filesystem(),
        shell({
          needsApproval: true,
          guardrails: {
            output: [
              {
                name: 'redact_key',
                execute: ({ output }) => ({ replace: output?.replace(/KEY=\S+/g, 'KEY=[redacted]') }),
              },
            ],
          },
        }),
      ],
    });
    const { openai, requests } = capturingOpenAI(stack.model.baseURL);
    const queue = queueFor('audit-sandbox');
    const worker = await sandboxWorker(stack, [agent], queue, { openai });
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'Please fix the notes and run the app.');
      await waitForStatus(client, id, 'awaiting_approval', 60_000);

      const waiting = await auditRun(client.temporal, id, { blobs: blobs() });
      assert.equal(waiting.status, 'awaiting_approval');
      assert.deepEqual(
        waiting.approvals.map((a) => [a.tool, a.pending]),
        [['exec_command', true]],
      );
      assert.equal(waiting.commands[0]?.output, '(no result: not run)');

      await client.approve(id, 'call_3_0', { by: 'ann', reason: 'read-only command' });
      await client.result(id);
      const state = await client.getState(id);
      const doc = await auditRun(client.temporal, id, { blobs: blobs() });

      assert.equal(doc.status, 'completed');
      assert.equal(doc.agent, 'auditee');
      assert.equal(doc.input, 'Please fix the notes and run the app.');
      assert.equal(doc.finalOutput, 'Audited work done.');
      assert.deepEqual(doc.usage, state.usage, 'usage as the run counted it');
      assert.deepEqual(
        doc.agents.map((a) => a.version),
        [state.agentVersions.auditee],
      );

      // Model calls: one per request the model server got, with what was sent and what came back.
      assert.equal(doc.modelCalls.length, requests.length);
      assert.equal(doc.modelCalls.length, state.usage.requests);
      assert.match(doc.modelCalls[0].sent.instructions ?? '', /Edit notes and run the app\./);
      assert.deepEqual(doc.modelCalls[0].sent.newItems, [
        { type: 'message', role: 'user', content: 'Please fix the notes and run the app.' },
      ]);
      const sentItems = doc.modelCalls.flatMap((m) => [...m.sent.newItems, ...(m.received?.items ?? [])]);
      for (const item of state.items)
        assert.ok(
          sentItems.some((s) => JSON.stringify(s) === JSON.stringify(item)) || item.type === 'approval',
          `the document shows ${JSON.stringify(item).slice(0, 80)}`,
        );
      assert.deepEqual(doc.modelCalls.at(-1)?.received?.items, [state.items.at(-1)]);

      // The command, with the output the run recorded (redacted by the guardrail), after the approval.
      assert.equal(doc.commands.length, 1);
      assert.equal(doc.commands[0].cmd, 'python3 app.py; cat notes.txt; echo KEY=hunter2');
      assert.equal(doc.commands[0].exitCode, 0);
      assert.equal(doc.commands[0].output, toolResults(state).find((r) => r.callId === 'call_3_0')?.output);
      assert.match(doc.commands[0].output, /hi, auditor[\s\S]*alpha\nBETA\ngamma[\s\S]*KEY=\[redacted\]/);
      for (const t of doc.toolCalls)
        assert.doesNotMatch(t.output ?? '', /hunter2/, 'the redacted secret stays out of every recorded output');
      // Each call names its kind and where its tool comes from, by the pinned spec (the kinds' `describe`).
      assert.ok(
        doc.toolCalls.length > 0 && doc.toolCalls.every((t) => t.kind === 'sandbox' && t.origin === 'a sandbox tool'),
        JSON.stringify(doc.toolCalls.map((t) => t.origin)),
      );
      assert.match(renderAuditMarkdown(doc), /- ` exec_command ` \(a sandbox tool\) ` call_3_0 `/);
      // The workflow sends each call's kind with it: the worker runs it by that, not by its name.
      const scheduled = (await loadRunEvents(client.temporal, id)).flatMap((e) =>
        e.kind === 'activity_scheduled' && e.activity === 'runTool' ? [e.input as RunToolInput] : [],
      );
      assert.deepEqual(
        scheduled.map((i) => [i.call.name, i.kind]),
        doc.toolCalls.map((t) => [t.tool, 'sandbox']),
      );

      // File changes as diffs: write_file against what the run had read; apply_patch as applied.
      assert.deepEqual(
        doc.fileChanges.map((f) => [f.tool, f.paths, f.applied]),
        [
          ['write_file', ['notes.txt'], true],
          ['apply_patch', ['app.py'], true],
        ],
      );
      assert.match(
        doc.fileChanges[0].diff,
        /^--- a\/notes\.txt\n\+\+\+ b\/notes\.txt\n@@ -1,3 \+1,3 @@\n alpha\n-beta\n\+BETA\n gamma$/,
      );
      assert.equal(doc.fileChanges[1].diff, patch);

      // The approval: who, when, why, through which client, unverified identity.
      const approval = state.items.find((i) => i.type === 'approval')!;
      assert.equal(doc.approvals.length, 1);
      const [a] = doc.approvals;
      assert.deepEqual(
        [a.callId, a.tool, a.decision, a.approver, a.reason, a.via, a.pending, a.identityVerified],
        ['call_3_0', 'exec_command', 'approve', 'ann', 'read-only command', 'update', false, false],
      );
      assert.ok(
        Math.abs(Date.parse(a.decidedAt!) - Date.parse(approval.type === 'approval' ? approval.at : '')) < 2000,
      );
      assert.ok(a.waitMs! >= 0 && a.clientIdentity, 'wait time and the sending client identity are known');

      assert.ok(
        doc.guardrails.some((g) => g.name === 'redact_key' && g.callId === 'call_3_0'),
        'the output guardrail decision',
      );
      assert.deepEqual(
        doc.sandbox.map((s) => s.operation).filter((o) => o !== 'snapshotSandbox'),
        ['createSandbox', 'destroySandbox'],
      );
      assert.deepEqual(doc.gaps, []);

      process.env.KEEL_HOME = stack.dataDir;
      const md = await runCli(stack, queue, ['audit', id, '--format', 'md']);
      assert.equal(md.code, 0, md.stderr);
      assert.match(md.stdout, /# Audit of run `+ auditee-/);
      assert.match(md.stdout, /\*\*approve\*\* by ` ann ` at .* via update; reason: ` read-only command `/);
      assert.match(md.stdout, /```+diff\n--- a\/notes\.txt/);
      const json = await runCli(stack, queue, ['audit', id, '--format', 'json']);
      assert.deepEqual(JSON.parse(json.stdout), JSON.parse(JSON.stringify(doc)));
    });
  });

  test('failed and cancelled runs are audited too', async () => {
    const step = { toolCalls: [{ name: 'noop', arguments: {} }] };
    stack.model.setScript('audit-loop', { steps: [step, step, step] });
    const noop = tool({ name: 'noop', description: 'does nothing', parameters: z.object({}), execute: () => 'ok' });
    const gated = tool({
      name: 'noop',
      description: 'does nothing',
      parameters: z.object({}),
      needsApproval: true,
      execute: () => 'ok',
    });
    const looping = new Agent({ name: 'looper', instructions: 'x', model: 'audit-loop', maxTurns: 2, tools: [noop] });
    const waiting = new Agent({ name: 'waiter', instructions: 'x', model: 'audit-loop', tools: [gated] });
    const queue = queueFor('audit-failed');
    const worker = await stack.worker([looping, waiting], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const failedId = await client.startRun(looping, 'loop forever');
      await client.result(failedId).catch(() => undefined);
      const failed = await auditRun(client.temporal, failedId, { blobs: blobs() });
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.type, 'MaxTurnsExceeded');
      assert.equal(failed.modelCalls.length, 2);
      assert.deepEqual(
        failed.toolCalls.map((t) => [t.tool, t.output, t.kind]),
        [
          ['noop', 'ok', 'function'],
          ['noop', 'ok', 'function'],
        ],
      );

      const cancelledId = await client.startRun(waiting, 'wait for me');
      await waitForStatus(client, cancelledId, 'awaiting_approval');
      await client.cancel(cancelledId);
      await client.result(cancelledId).catch(() => undefined);
      const cancelled = await auditRun(client.temporal, cancelledId, { blobs: blobs() });
      assert.equal(cancelled.status, 'cancelled');
      assert.ok(cancelled.cancelRequested?.at, 'when cancelling was asked');
      assert.deepEqual(
        cancelled.toolCalls.map((t) => [t.tool, t.output]),
        [['noop', undefined]],
        'the gated call never ran',
      );
    });
  });
});
