/**
 * Storage figures: bytes a snapshot stores when one 10 KB file of a 50 MB workspace changed (incremental tree
 * snapshots, worker side, over the same tar stream a sandbox exports), and conversation bytes stored per turn of
 * real runs (10 and 300 turns) next to what whole-conversation blobs per turn would have stored; and how long a
 * run takes to resume after its worker is SIGKILLed mid model call, on the same host and on another host.
 *
 * The resume figures run tsx test worker processes (test/helpers/worker-process.ts), so that one can be killed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import type { ConversationChunk } from '../../src/storage/conversation.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { localStores } from '../../src/storage/config.js';
import { TreeSnapshotStore } from '../../src/storage/tree-snapshot-store.js';
import { queueFor, type TestStack } from '../../test/helpers/stack.js';
import { crashAgents } from '../../test/helpers/crash-agents.js';
import { WorkerProcesses } from '../../test/helpers/crash.js';
import { eventMs } from '../../test/helpers/history.js';
import { waitFor } from '../../test/helpers/runs.js';
import { startS3Server } from '../../test/helpers/s3.js';
import { removeRunContainers } from '../../test/helpers/sandbox.js';

const tarOf = (dir: string) =>
  spawn('tar', ['-c', '-f', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout;

async function snapshotFigures() {
  const root = mkdtempSync(path.join(tmpdir(), 'keel-bench-snap-'));
  try {
    const ws = path.join(root, 'ws');
    for (let d = 0; d < 10; d++) {
      mkdirSync(path.join(ws, `dir${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) writeFileSync(path.join(ws, `dir${d}`, `file${f}.bin`), randomBytes(100 * 1024)); // 500 x 100 KB = 50 MB
    }
    writeFileSync(path.join(ws, 'dir3', 'notes.txt'), randomBytes(10 * 1024));
    const store = new TreeSnapshotStore(new LocalBlobStore(path.join(root, 'objects')));
    const first = await store.put(tarOf(ws));
    writeFileSync(path.join(ws, 'dir3', 'notes.txt'), randomBytes(10 * 1024));
    const t0 = performance.now();
    const second = await store.put(tarOf(ws));
    return {
      snapshotBytesOneFileChanged: second.storedBytes ?? 0,
      snapshotBytesOneFileChangedBefore: second.bytes, // a whole-workspace tar per snapshot
      snapshotFirstStoredBytes: first.storedBytes ?? 0,
      snapshotIncrementalMs: Math.round(performance.now() - t0),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const lookup = tool({
  name: 'lookup',
  description: 'Looks something up',
  parameters: z.object({ q: z.string() }),
  execute: ({ q }) => `result for ${q}: ${'detail '.repeat(40)}`,
});

/** Conversation chunk bytes a run of `turns` turns stored, and what one whole-conversation blob per turn would. */
async function conversationBytes(stack: TestStack, turns: number): Promise<{ now: number; before: number }> {
  const model = `bench-conv-${turns}`;
  const steps = Array.from({ length: turns - 1 }, (_, i) => ({
    message: `step ${i}`,
    toolCalls: [{ name: 'lookup', arguments: { q: `item ${i}` } }],
  }));
  stack.model.setScript(model, { steps: [...steps, { message: 'done' }] });
  const agent = new Agent({ name: `conv${turns}`, instructions: 'bench', model, tools: [lookup], maxTurns: turns + 5 });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'keel-bench-conv-'));
  try {
    const stores = localStores(dataDir);
    const queue = queueFor(`bench-conv-${turns}`);
    const worker = await stack.worker([agent], queue, { blobs: stores.blobs, snapshots: stores.snapshots });
    const client = stack.client(queue);
    await worker.runUntil(async () =>
      client.result(await client.startRun(agent, 'go', { continueAsNewEveryTurns: 100 })),
    );
    let now = 0;
    let before = 0;
    for await (const b of stores.blobs.list()) {
      const text = (await stores.blobs.get(b.ref))!.toString('utf8');
      if (!text.startsWith('{"v":1,"kind":"keel.conversation"')) continue;
      now += b.bytes;
      const chunk = JSON.parse(text) as ConversationChunk;
      before += Math.round((chunk.length / Math.max(1, chunk.items.length)) * b.bytes); // whole conversation at that turn, estimated
    }
    return { now: Math.round(now / turns), before: Math.round(before / turns) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * A worker process is SIGKILLed while a model call is in flight; a standby worker of the same host, started while
 * the call was running, takes over. Measured from the kill to the retried call's ActivityTaskCompleted in history,
 * minus the scripted answer's own delay: the model activity's heartbeat timeout (3 s; heartbeats every second while
 * the call is in flight) plus its first retry delay (0.5 s). Worker start-up is not in the figure.
 */
export async function resumeAfterKillFigures(stack: TestStack) {
  const workers = new WorkerProcesses(stack);
  const agent = crashAgents.bench;
  const script = agent.options.model as string;
  const delayMs = 30_000; // long enough for the standby worker to start while the call is in flight
  const exec = (cmd: string) => ({ name: 'exec_command', arguments: { cmd } });
  stack.model.setScript(script, {
    steps: [
      { toolCalls: [exec('echo one >> log')] },
      { delayMs, toolCalls: [exec('echo two >> log')] },
      { message: 'done' },
    ],
  });
  const queue = queueFor('bench-kill');
  const client = stack.client(queue);
  try {
    const first = await workers.start(queue, 'bench-host');
    const id = await client.startRun(agent, 'go');
    await waitFor('the second model call to be in flight', () => stack.model.stats(script).perStep[1] >= 1, 120_000);
    await workers.start(queue, 'bench-host'); // the standby
    if (stack.model.stats(script).perStep[2]) throw new Error('the model call finished before the kill; raise delayMs');
    const killedAt = await first.kill();
    await client.result(id);
    const events = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
    const next = events.find((e) => e.activityTaskCompletedEventAttributes && eventMs(e) >= killedAt);
    const retried = events.find(
      (e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1 && eventMs(e) >= killedAt,
    );
    if (!next) throw new Error('no activity result recorded after the kill');
    // The retry's start (when the new worker took the call over) isolates detection from the call's own work.
    return {
      resumeAfterWorkerKillMs: eventMs(next) - killedAt - delayMs,
      retryStartAfterWorkerKillMs: retried ? eventMs(retried) - killedAt : -1,
    };
  } finally {
    await workers.stopAll();
  }
}

/** The first activity completed after `killedAt` whose type is `type`: its completion time in ms since the epoch. */
async function completedAfter(
  stack: TestStack,
  queue: string,
  id: string,
  killedAt: number,
  type: string,
): Promise<number> {
  const events = (await stack.client(queue).temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
  const scheduled = new Map(
    events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes
        ? [[String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name]]
        : [],
    ),
  );
  const done = events.find(
    (e) =>
      e.activityTaskCompletedEventAttributes &&
      eventMs(e) >= killedAt &&
      scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) === type,
  );
  if (!done) throw new Error(`no ${type} completed after the kill`);
  return eventMs(done);
}

/**
 * Two hosts sharing only Temporal and an S3 bucket (SeaweedFS); host A is killed (worker SIGKILLed, container
 * removed) while a model call is in flight on it. Measured from the kill to the completion, on host B, of the
 * command that call asked for, minus the scripted answer's delay: the model activity's heartbeat timeout, the
 * workflow task's sticky queue timeout, the host pickup timeout (3 s here; 30 s by default) and restoring the
 * snapshot into a new container on B.
 */
export async function crossHostResumeFigures(stack: TestStack) {
  const s3 = await startS3Server();
  const workers = new WorkerProcesses(stack);
  const agent = crashAgents.benchCrossHost;
  const script = agent.options.model as string;
  const delayMs = 20_000; // long enough for host B to start while the call is in flight on A
  const exec = (cmd: string) => ({ name: 'exec_command', arguments: { cmd } });
  stack.model.setScript(script, {
    steps: [{ toolCalls: [exec('echo one >> log')] }, { delayMs, toolCalls: [exec('cat log')] }, { message: 'done' }],
  });
  const queue = queueFor('bench-cross-host');
  const client = stack.client(queue);
  try {
    const a = await workers.startHost(queue, 'a', s3.env('bench'));
    const id = await client.startRun(agent, 'go', { hostPickupTimeoutMs: 3_000 });
    await waitFor('the second model call to be in flight', () => stack.model.stats(script).perStep[1] >= 1, 120_000);
    await workers.startHost(queue, 'b', s3.env('bench'));
    if (stack.model.stats(script).perStep[2]) throw new Error('the model call finished before the kill; raise delayMs');
    const killedAt = await a.worker.kill();
    await removeRunContainers(id);
    await client.result(id);
    const state = await client.getState(id);
    if (state.sandbox?.taskQueue !== `${queue}@b`)
      throw new Error(`the run did not move to host B: ${state.sandbox?.taskQueue}`);
    return { crossHostResumeMs: (await completedAfter(stack, queue, id, killedAt, 'runTool')) - killedAt - delayMs };
  } finally {
    await workers.stopAll();
    await s3.stop();
  }
}

export default async function storageFigures(stack: TestStack): Promise<Record<string, number | string>> {
  const snapshots = await snapshotFigures();
  const at10 = await conversationBytes(stack, 10);
  const at300 = await conversationBytes(stack, 300);
  return {
    ...snapshots,
    conversationBytesPerTurnAt10: at10.now,
    conversationBytesPerTurnAt300: at300.now,
    conversationBytesPerTurnAt10Before: at10.before,
    conversationBytesPerTurnAt300Before: at300.before,
    ...(await resumeAfterKillFigures(stack)),
    ...(await crossHostResumeFigures(stack)),
  };
}

export const worker =
  'in the bench process for the storage figures; tsx test worker processes (killable) for the resume figures';
