/**
 * `consolidateMemory`: phase 2 of memory. One at a time per (agent, scope), by its deterministic workflow id;
 * runs the consolidation agent as a child `agentRun` in a sandbox over the memory folder and stores its result.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, executeChild, startChild, workflowInfo } from '@temporalio/workflow';
import { CONSOLIDATOR_AGENT } from '../agents/memory-scope.js';
import type { MemorySpec } from '../agents/memory.js';
import { quick } from './activities.js';
import type { AgentRunInput, AgentRunResult } from './messages.js';

export function consolidationWorkflowId(memory: MemorySpec): string {
  return `keel-memory-${memory.agent}-${memory.scope}`;
}

export async function consolidateMemory(input: { memory: MemorySpec }): Promise<void> {
  const { memory } = input;
  const child: AgentRunInput = {
    agent: CONSOLIDATOR_AGENT,
    input: `Consolidate the memory of agent '${memory.agent}' for scope '${memory.scope}' in /workspace/memory.`,
    context: { memory: { agent: memory.agent, scope: memory.scope } },
  };
  const result = (await executeChild('agentRun', {
    workflowId: `${workflowInfo().workflowId}-${workflowInfo().runId}`,
    args: [child],
  })) as AgentRunResult;
  await quick.writeConsolidatedMemory({
    memory,
    output: result.finalOutput as { memory_md: string; memory_summary_md: string },
  });
}

/** Starts consolidation unless one is already running for this scope (then that one will do). */
export async function startConsolidation(memory: MemorySpec): Promise<boolean> {
  try {
    await startChild('consolidateMemory', {
      workflowId: consolidationWorkflowId(memory),
      args: [{ memory }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
