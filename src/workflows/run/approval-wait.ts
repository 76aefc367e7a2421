/**
 * Waiting for humans: which calls need a decision, and the wait itself (status, Web UI details, a workspace
 * snapshot, the agent's approval timeout).
 */
import { condition, setCurrentDetails } from '@temporalio/workflow';
import type { ToolSpec } from '../../agents/spec.js';
import { quick } from '../activities.js';
import { applyDecision, applyStandingDecision, decisionFor, pendingDetails } from '../approvals.js';
import { policyAllows, type ToolCallItem } from '../run-state.js';
import { fail, FAILURE_TYPES, nowIso, setStatus, type Run } from './run.js';

/** Whether `call` must wait for a decision (a standing decision answers it at once). */
export async function needsApproval(run: Run, tool: ToolSpec, call: ToolCallItem): Promise<boolean> {
  const { spec, state } = run;
  if (applyStandingDecision(state, call, nowIso())) return false;
  switch (tool.approval.mode) {
    case 'never':
      return false;
    case 'always':
      return true;
    case 'policy':
      return !policyAllows(tool.approval, call.arguments);
    case 'function':
      return quick.checkApproval({ agent: spec.name, tool: tool.name, callId: call.callId, arguments: call.arguments, context: state.context });
  }
}

/** Waits until every call in `callIds` is decided, honouring the agent's approval timeout. */
export async function awaitDecisions(run: Run, callIds: string[]): Promise<void> {
  const { state } = run;
  const decided = () => callIds.every((id) => decisionFor(state, id));
  if (decided()) return;
  setStatus(run, 'awaiting_approval');
  setCurrentDetails(pendingDetails(state.pendingApprovals));
  await run.sandbox.snapshot(state.turn);
  const timeout = run.spec.approvalTimeout;
  const inTime = timeout ? await condition(decided, timeout.ms) : (await condition(decided), true);
  if (!inTime && timeout) {
    if (timeout.onExpiry === 'fail') fail(run, FAILURE_TYPES.approvalTimeout, `no approval decision within ${timeout.ms} ms`);
    for (const id of callIds) {
      if (!decisionFor(state, id)) applyDecision(state, { callId: id, approver: 'timeout', decision: 'reject', reason: `no decision within ${timeout.ms} ms` }, 'timeout', nowIso());
    }
  }
  setStatus(run, 'running');
}
