/**
 * Helpers for integration tests of sandbox runs: a worker with real Docker sandboxes (sharing the stack's
 * snapshot store, as workers sharing S3 would), container probes, and the tool results a run recorded.
 */
import Docker from 'dockerode';
import { extract } from 'tar-stream';
import type { Agent } from '../../src/agents/agent.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { LABELS } from '../../src/sandbox/hardening.js';
import { localStores } from '../../src/storage/config.js';
import type { RunState, ToolResultItem } from '../../src/workflows/run-state.js';
import type { CreateWorkerOptions, KeelWorker } from '../../src/worker.js';
import { requireImage } from './sandbox-fixture.js';
import type { TestStack } from './stack.js';

export const docker = new Docker();

/** A worker whose sandbox activities run real containers; fails clearly when Docker or the image is missing. */
export async function sandboxWorker(
  stack: TestStack,
  agents: Agent[],
  queue: string,
  options: Partial<CreateWorkerOptions> = {},
): Promise<KeelWorker> {
  await requireImage();
  return stack.worker(agents, queue, { sandboxes: new DockerSandboxClient({ docker }), ...options });
}

/** Whether a container exists at all (docker inspect answers 404 when not). */
export async function containerExists(id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/** Removes a run's container behind Keel's back, as an operator or a crashed engine would. */
export async function removeBehindKeelsBack(id: string): Promise<void> {
  await docker.getContainer(id).remove({ force: true });
}

/** Removes a run's containers, found by Keel's labels (what a lost host takes along). Returns their ids. */
export async function removeRunContainers(workflowId: string): Promise<string[]> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.workflowId}=${workflowId}`] } });
  await Promise.all(listed.map((c) => removeBehindKeelsBack(c.Id)));
  return listed.map((c) => c.Id);
}

/** The run's tool results, in order. */
export function toolResults(state: RunState): ToolResultItem[] {
  return state.items.filter((i): i is ToolResultItem => i.type === 'tool_result');
}

/** Whether a process whose command line contains `needle` runs in the container (false once it is gone). */
export async function isRunning(containerId: string, needle: string, engine: Docker = docker): Promise<boolean> {
  try {
    const top = (await engine.getContainer(containerId).top({ ps_args: '-eo pid,args' })) as { Processes?: string[][] };
    return (top.Processes ?? []).some((p) => p.join(' ').includes(needle));
  } catch {
    return false;
  }
}

/** Paths of the entries in a snapshot of the stack's (default) snapshot store. */
export async function snapshotFiles(stack: TestStack, id: string): Promise<string[]> {
  const tar = await localStores(stack.dataDir).snapshots.get(id);
  const names: string[] = [];
  const ex = extract();
  tar.pipe(ex);
  for await (const entry of ex) {
    names.push(entry.header.name.replace(/^\.?\//, ''));
    entry.resume();
  }
  return names;
}
