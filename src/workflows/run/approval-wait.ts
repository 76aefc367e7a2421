/**
 * Waiting for humans: which calls need a decision, and the wait itself (status, Web UI details, a workspace
 * snapshot, the agent's approval timeout).
 */
import { condition, setCurrentDetails } from '@temporalio/workflow';
import { callPins, type ToolSpec } from '../../agents/spec.js';
import { quick } from '../activities.js';
import { applyDecision, applyStandingDecision, decisionFor } from '../approvals.js';
import { pendingDetails } from '../summaries.js';
import { emitWebhook } from '../webhooks.js';
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
      return quick.checkApproval({
        agent: spec.name,
        tool: tool.name,
        kind: tool.kind,
        callId: call.callId,
        arguments: call.arguments,
        context: state.context,
        ...callPins(tool),
      });
  }
}

/** Waits until every call in `calls` is decided (in an approval-wait span), honouring the agent's approval timeout. */
export async function awaitDecisions(run: Run, calls: ToolCallItem[]): Promise<void> {
  if (calls.every((c) => decisionFor(run.state, c))) return;
  const callIds = calls.map((c) => c.callId);
  const pending = run.state.pendingApprovals.filter((p) => callIds.includes(p.callId));
  const attributes = {
    'keel.approval.call_ids': callIds,
    'keel.approval.tools': pending.map((p) => p.tool),
    'gen_ai.agent.name': run.spec.name,
  };
  await withSpan('approval_wait', attributes, async (span) => {
    await waitForDecisions(run, calls);
    const decisions = calls.map((c) => decisionFor(run.state, c));
    span.setAttributes({
      'keel.approval.decisions': decisions.map((d) => d?.decision ?? 'none'),
      'keel.approval.approvers': decisions.map((d) => d?.approver ?? ''),
    });
    for (const call of calls) {
      const p = pending.find((q) => q.callId === call.callId);
      const d = decisionFor(run.state, call);
      if (p && d) reportDecision(run.spec.name, p.tool, d.decision, p.requestedAt, d.at);
    }
  });
}

async function waitForDecisions(run: Run, calls: ToolCallItem[]): Promise<void> {
  const { state } = run;
  const decided = () => calls.every((c) => decisionFor(state, c));
  setStatus(run, 'awaiting_approval');
  setCurrentDetails(pendingDetails(state.pendingApprovals, run.workflowId));
  for (const p of state.pendingApprovals.filter((q) => calls.some((c) => c.callId === q.callId))) {
    await emitWebhook(run, 'approval.requested', p.callId, {
      call: { callId: p.callId, agent: p.agent, tool: p.tool, arguments: p.arguments, argsHash: p.argsHash },
    });
  }
  await run.sandbox.snapshot(state.turn);
  const timeout = run.spec.approvalTimeout;
  const inTime = timeout ? await condition(decided, timeout.ms) : (await condition(decided), true);
  if (!inTime && timeout) {
    if (timeout.onExpiry === 'fail')
      fail(run, FAILURE_TYPES.approvalTimeout, `no approval decision within ${timeout.ms} ms`);
    for (const c of calls) {
      if (!decisionFor(state, c))
        applyDecision(
          state,
          { callId: c.callId, approver: 'timeout', decision: 'reject', reason: `no decision within ${timeout.ms} ms` },
          'timeout',
          nowIso(),
        );
    }
  }
  setStatus(run, 'running');
}
