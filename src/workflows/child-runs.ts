/**
 * Child runs: an agent run started by another run (agent tools) or by a fan-out job, as a Temporal child workflow
 * with a deterministic id, so a worker crash neither loses nor duplicates it (starting it is a command in the
 * parent's history). The parent records each child in its RunState (`children`) when it starts and ends.
 *
 * Close policy, deliberately: REQUEST_CANCEL. A parent waits for its children, so this only applies when the parent
 * is terminated or times out; its children then cancel cleanly (snapshot, container removed) rather than run on
 * unobserved (ABANDON) or leave containers to the reaper (TERMINATE). Cancelling the parent cancels the children and
 * waits until they have cleaned up (WAIT_CANCELLATION_COMPLETED).
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  ParentClosePolicy,
  isCancellation,
  patched,
  startChild,
} from '@temporalio/workflow';
import type { AgentRunInput, AgentRunResult } from './messages.js';
import { LEAN_RUN } from './lean-run.js';
import { KeelAgent, KeelStatus, KeelTotalTokens } from './search-attributes.js';
import { migrateRunState, type RunState } from './run-state.js';
import { childUsage, sumUsage, type ChildRun } from './tree.js';

/**
 * Runs `agentRun` for `input` as child `record.runId`; resolves with the record once the child ended (never throws
 * for the child's failure). `changed` is called once the child started and once it ended (the live event log).
 */
export async function runChild(
  children: ChildRun[],
  record: ChildRun,
  input: AgentRunInput,
  changed: () => void = () => undefined,
): Promise<ChildRun> {
  const entry = upsert(children, { ...record, status: 'running' });
  try {
    const handle = await startChild('agentRun', {
      workflowId: record.runId,
      args: [input],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      staticSummary: `${record.agent}${record.callId ? ` · ${record.callId}` : ''}${record.index !== undefined ? ` · item ${record.index}` : ''}`,
      // Findable as running from its start, so the child need not upsert the same values when it begins.
      ...(patched(LEAN_RUN)
        ? {
            typedSearchAttributes: [
              { key: KeelStatus, value: 'running' },
              { key: KeelAgent, value: input.agent },
              { key: KeelTotalTokens, value: 0 },
            ],
          }
        : {}),
    });
    changed();
    const result = (await handle.result()) as AgentRunResult;
    Object.assign(entry, {
      status: 'completed',
      finalOutput: result.finalOutput,
      usage: result.treeUsage ?? result.usage,
    });
  } catch (err) {
    // This run itself being cancelled: the child was cancelled with it; the caller ends the run.
    if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
      entry.status = 'cancelled';
      throw err;
    }
    Object.assign(entry, failureOf(err));
  }
  changed();
  return entry;
}

function upsert(children: ChildRun[], record: ChildRun): ChildRun {
  const existing = children.find((c) => c.runId === record.runId);
  if (existing) return Object.assign(existing, record);
  children.push(record);
  return record;
}

/** The status, error and usage of a child that did not complete. */
function failureOf(err: unknown): Pick<ChildRun, 'status' | 'error' | 'usage'> {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  if (cause instanceof CancelledFailure)
    return { status: 'cancelled', error: { type: 'Cancelled', message: 'the run was cancelled' } };
  if (cause instanceof ApplicationFailure) {
    const state = cause.details?.[0] as RunState | undefined; // as the child's version stored it
    const usage = state?.usage ? sumUsage([state.usage, childUsage(migrateRunState(state).children)]) : undefined;
    return {
      status: 'failed',
      error: { type: cause.type ?? 'Error', message: cause.message },
      ...(usage ? { usage } : {}),
    };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { status: 'failed', error: { type: cause instanceof Error ? cause.name : 'Error', message } };
}

/** What the parent's model reads for a child's outcome. */
export function childOutput(child: ChildRun): { output: string; isError: boolean } {
  if (child.status === 'completed') {
    const out = child.finalOutput;
    return { output: typeof out === 'string' ? out : JSON.stringify(out ?? null), isError: false };
  }
  const why = child.error ? `${child.error.type}: ${child.error.message}` : child.status;
  return {
    output: `Error: sub-agent ${child.agent} (${child.runId}) ${child.status === 'cancelled' ? 'was cancelled' : `failed: ${why}`}`,
    isError: true,
  };
}

/** `usage` plus every ended child's (each child's already covers its own tree). */
export function treeUsage(state: RunState): RunState['usage'] {
  return sumUsage([state.usage, childUsage(state.children)]);
}
