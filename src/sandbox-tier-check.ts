/**
 * Which sandbox tiers some worker offers, as the Temporal server knows it: a worker offering tier T polls the
 * tier's shared queue (workflows/sandbox-tiers.ts), and the server lists a queue's recent pollers. So the worker
 * resolving an agent refuses a tier nobody offers at once, with no registry of its own to keep. A worker that died
 * within the server's poller memory (minutes) still counts; its sandbox creation then waits for another host.
 */
import type { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import type { SandboxTier } from './sandbox/types.js';
import { tierQueue } from './workflows/sandbox-tiers.js';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

export interface TierCheckOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The tiers this worker offers itself: known without asking. */
  local: SandboxTier[];
}

/** `tierOffered` for the agent registry: true when this worker or any worker polling the tier's queue offers it. */
export function tierOfferedCheck(options: TierCheckOptions): (tier: SandboxTier) => Promise<boolean> {
  return async (tier) => {
    if (options.local.includes(tier)) return true;
    const described = await options.connection.workflowService.describeTaskQueue({
      namespace: options.namespace,
      taskQueue: { name: tierQueue(options.taskQueue, tier), kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    return (described.pollers ?? []).length > 0;
  };
}
