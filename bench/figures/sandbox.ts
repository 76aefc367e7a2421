/**
 * Sandbox figures (issue 12): command round trip through the in-sandbox agent, one exec_command tool call
 * through the whole stack, time to a run's first command output with and without the warm pool, the same under
 * gVisor, and workspace snapshot/restore. The scripted model answers at once, so this is Keel + Temporal + Docker.
 */
import * as path from 'node:path';
import { SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { LocalSnapshotStore } from '../../src/sandbox/snapshots.js';
import type { SandboxRuntime } from '../../src/sandbox/types.js';
import { queueFor, type TestStack } from '../../test/helpers/stack.js';

const image = process.env.KEEL_SANDBOX_IMAGE ?? 'keel-sandbox:latest';
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const round = (x: number) => Math.round(x * 10) / 10;
type Event = {
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  activityTaskCompletedEventAttributes?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
};
/** The completion of the activity scheduled at `events[i]` (one sandbox operation at a time: the next completion). */
const completionOf = (events: Event[], i: number) =>
  events.slice(i).find((e) => e.activityTaskCompletedEventAttributes)!;
const ms = (e: Event) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);

/** Runs `samples` one-command runs; each sample is run start to the command's result in history. */
async function firstOutput(
  stack: TestStack,
  name: string,
  sandboxes: DockerSandboxClient,
  runtime: SandboxRuntime | undefined,
  samples: number,
) {
  stack.model.setScript(`bench-${name}`, {
    steps: [{ toolCalls: [{ name: 'exec_command', arguments: { cmd: 'echo first' } }] }, { message: 'done' }],
  });
  const agent = new SandboxAgent({
    name,
    instructions: 'bench',
    model: `bench-${name}`,
    capabilities: [shell()],
    sandbox: { runtime },
  });
  const queue = queueFor(`bench-${name}`);
  // runtime runsc is the gvisor tier: the worker must offer it (on the same Docker client).
  const worker = await stack.worker([agent], queue, {
    sandboxes: runtime === 'runsc' ? { gvisor: sandboxes } : sandboxes,
  });
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const out: number[] = [];
    for (let i = 0; i < samples + 1; i++) {
      await sandboxes.pool?.settled();
      const id = await client.startRun(agent, 'go');
      await client.result(id);
      const events = ((await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? []) as Event[];
      // The command's result: the first runTool activity's completion (resolving and creating run before it).
      const toolDone = completionOf(
        events,
        events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool'),
      );
      // Each series' first run is not measured: it pays the new worker's first workflow and activities (JIT, first
      // connections), which a long-lived worker pays once, and a pool's first run finds the pool empty.
      if (i > 0) out.push(ms(toolDone) - ms(events[0]));
    }
    return out;
  });
}

/** Ten `exec_command true` calls in one run: each runSandboxTool activity from scheduled to completed. */
async function toolCalls(stack: TestStack, sandboxes: DockerSandboxClient) {
  const steps = Array.from({ length: 10 }, () => ({
    toolCalls: [{ name: 'exec_command', arguments: { cmd: 'true' } }],
  }));
  stack.model.setScript('bench-toolcall', { steps: [...steps, { message: 'done' }] });
  const agent = new SandboxAgent({
    name: 'benchtoolcall',
    instructions: 'bench',
    model: 'bench-toolcall',
    capabilities: [shell()],
    maxTurns: 20,
  });
  const queue = queueFor('bench-toolcall');
  const worker = await stack.worker([agent], queue, { sandboxes });
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    await client.result(id);
    const events = ((await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? []) as Event[];
    const scheduled = events.flatMap((e, i) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool' ? [i] : [],
    );
    return scheduled.map((i) => ms(completionOf(events, i)) - ms(events[i]));
  });
}

async function roundTripAndSnapshots(stack: TestStack, sandboxes: DockerSandboxClient) {
  const snapshots = new LocalSnapshotStore(path.join(stack.dataDir, 'bench-snapshots'));
  const sb = await sandboxes.create({ image, labels: { workflowId: 'bench', runId: 'bench' } });
  const target = await sandboxes.create({ image, labels: { workflowId: 'bench', runId: 'bench' } });
  try {
    const exec: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await sb.exec({ cmd: 'true' });
      exec.push(performance.now() - t0);
    }
    await sb.exec({ cmd: 'head -c 52428800 /dev/urandom > /workspace/blob.bin', timeoutMs: 60_000 });
    let t0 = performance.now();
    const snap = await snapshots.put(await sb.exportWorkspace());
    const snapshotMs = performance.now() - t0;
    t0 = performance.now();
    await target.putArchive(await snapshots.get(snap.id));
    const restoreMs = performance.now() - t0;
    return {
      execRoundTripMedianMs: round(pct(exec, 50)),
      execRoundTripP95Ms: round(pct(exec, 95)),
      snapshotMs: round(snapshotMs),
      restoreMs: round(restoreMs),
      snapshotBytes: snap.bytes,
    };
  } finally {
    await Promise.all([sb.remove(), target.remove()]);
  }
}

export default async function sandboxFigures(stack: TestStack): Promise<Record<string, number | string>> {
  const cold = new DockerSandboxClient();
  const warm = new DockerSandboxClient({ pool: { size: 1, idleMs: 10 * 60_000 } });
  const warmGvisor = new DockerSandboxClient({ pool: { size: 1, idleMs: 10 * 60_000 } });
  try {
    const coldSamples = await firstOutput(stack, 'benchcold', cold, undefined, 7);
    const warmSamples = await firstOutput(stack, 'benchwarm', warm, undefined, 8);
    const gvisorSamples = await firstOutput(stack, 'benchgvisor', warmGvisor, 'runsc', 5);
    const gvisorCold = await firstOutput(stack, 'benchgvisorcold', cold, 'runsc', 3);
    const calls = await toolCalls(stack, cold);
    return {
      sandboxFirstOutputMedianMs: round(pct(warmSamples, 50)),
      sandboxFirstOutputP95Ms: round(pct(warmSamples, 95)),
      sandboxFirstOutputColdMedianMs: round(pct(coldSamples, 50)),
      gvisorFirstOutputMedianMs: round(pct(gvisorSamples, 50)),
      gvisorFirstOutputColdMedianMs: round(pct(gvisorCold, 50)),
      sandboxToolCallMs: round(pct(calls, 50)),
      ...(await roundTripAndSnapshots(stack, cold)),
    };
  } finally {
    await Promise.all([cold.close(), warm.close(), warmGvisor.close()]);
  }
}
