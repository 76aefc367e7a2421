/**
 * Waiting for humans: which calls need a decision, and the wait itself (status, Web UI details, a workspace
 * snapshot, the agent's approval timeout).
 */
import { condition, setCurrentDetails } from '@temporalio/workflow';
import type { ToolSpec } from '../../agents/spec.js';
import { quick } from '../activities.js';
import { applyDecision, applyStandingDecision, decisionFor } from '../approvals.js';
import { pendingDetails } from '../summaries.js';
import { reportDecision, withSpan } from './telemetry.js';
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
      return quick.checkApproval({ agent: spec.name, tool: tool.name, callId: call.callId, arguments: call.arguments, context: state.context, ...(tool.mcp ? { mcp: tool.mcp } : {}) });
  }
}

/** Waits until every call in `callIds` is decided (in an approval-wait span), honouring the agent's approval timeout. */
export async function awaitDecisions(run: Run, callIds: string[]): Promise<void> {
  if (callIds.every((id) => decisionFor(run.state, id))) return;
  const pending = run.state.pendingApprovals.filter((p) => callIds.includes(p.callId));
  const attributes = { 'keel.approval.call_ids': callIds, 'keel.approval.tools': pending.map((p) => p.tool), 'gen_ai.agent.name': run.spec.name };
  await withSpan('approval_wait', attributes, async (span) => {
    await waitForDecisions(run, callIds);
    const decisions = callIds.map((id) => decisionFor(run.state, id));
    span.setAttributes({ 'keel.approval.decisions': decisions.map((d) => d?.decision ?? 'none'), 'keel.approval.approvers': decisions.map((d) => d?.approver ?? '') });
    for (const p of pending) {
      const d = decisionFor(run.state, p.callId);
      if (d) reportDecision(run.spec.name, p.tool, d.decision, p.requestedAt, d.at);
    }
  });
}

async function waitForDecisions(run: Run, callIds: string[]): Promise<void> {
  const { state } = run;
  const decided = () => callIds.every((id) => decisionFor(state, id));
  setStatus(run, 'awaiting_approval');
  setCurrentDetails(pendingDetails(state.pendingApprovals, run.workflowId));
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
