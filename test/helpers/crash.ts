/**
 * Shared by the worker-crash tests (test/integration/crash-*.test.ts) and the bench: worker processes on the test
 * stack, killed for real, plus the checks every crash test makes (each recorded model step paid for once).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { KeelClient } from '../../src/client.js';
import type { ScriptStats } from '../../src/testing/scripted-model.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import type { TestStack } from './stack.js';
import { spawnWorker, writeWorkflowBundle, type WorkerProcess, type WorkerProcessOptions } from './spawn-worker.js';

/** Spawns worker processes against `stack` and stops whatever is still running at the end. */
export class WorkerProcesses {
  private readonly started: WorkerProcess[] = [];
  private readonly homes: string[] = [];
  private bundle?: Promise<string>;

  constructor(private readonly stack: TestStack) {}

  /** A worker process serving `taskQueue` and the host queue `<taskQueue>@<hostId>`. */
  async start(taskQueue: string, hostId: string, options: Partial<WorkerProcessOptions> = {}): Promise<WorkerProcess> {
    this.bundle ??= writeWorkflowBundle(this.stack.dataDir);
    const worker = await spawnWorker({
      address: this.stack.address,
      taskQueue,
      hostId,
      baseURL: this.stack.model.baseURL,
      dataDir: this.stack.dataDir,
      bundlePath: await this.bundle,
      ...options,
    });
    this.started.push(worker);
    return worker;
  }

  /**
   * A worker process that is a host of its own: its own KEEL_HOME (a fresh directory, removed by stopAll) and host
   * queue; `env` says what it shares with the others (KEEL_STORE and S3 credentials).
   */
  async startHost(
    taskQueue: string,
    hostId: string,
    env: Record<string, string>,
  ): Promise<{ worker: WorkerProcess; home: string }> {
    const home = mkdtempSync(path.join(tmpdir(), `keel-host-${hostId}-`));
    this.homes.push(home);
    return { worker: await this.start(taskQueue, hostId, { env, dataDir: home }), home };
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((w) => w.stop()));
    for (const home of this.homes.splice(0)) rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Every model step answered before the kill was requested exactly once; `inFlight` (the step whose answer the kill
 * lost, never recorded) exactly twice: once by the dead worker, once by the new one.
 */
export function assertPaidOnce(stats: ScriptStats, steps: number, inFlight?: number): void {
  const expected = Object.fromEntries(Array.from({ length: steps }, (_, i) => [i, i === inFlight ? 2 : 1]));
  assert.deepEqual({ ...stats.perStep }, expected, `model requests per step: ${JSON.stringify(stats.perStep)}`);
}

/** Whether the run is at rest: no activity and no workflow task pending, so it only waits (for a signal or a timer). */
export async function atRest(client: KeelClient, runId: string): Promise<boolean> {
  const { raw } = await client.temporal.workflow.getHandle(runId).describe();
  return (raw.pendingActivities ?? []).length === 0 && !raw.pendingWorkflowTask;
}

/** Runs a command in a run's container from outside Keel (no journal), for looking at what happened there. */
export async function inContainer(containerId: string, cmd: string): Promise<string> {
  const sandbox = await new DockerSandboxClient().attach(containerId);
  if (!sandbox) throw new Error(`container ${containerId} is gone`);
  return (await sandbox.exec({ cmd, timeoutMs: 10_000 })).stdout;
}
