/**
 * Approval bookkeeping inside the workflow: validates decisions (signals, the `decide` update), records each as
 * an audit item, and applies standing decisions. Pure over RunState, so it replays identically.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { AgentSpec } from '../agents/spec.js';
import type { ApprovalSignal, DecideInput } from './messages.js';
import type { ApprovalItem, PendingApproval, RunState, ToolCallItem } from './run-state.js';
import { argumentsDigest, pendingDigest, standingKey } from './call-binding.js';
import { approvalHistory } from './run/archive.js';
import { extensionProblem } from '../agents/budget.js';
import { BUDGET_TOOL } from './budget.js';
import { keelFailure, type DecisionProblem } from '../failures.js';

export type Decision = 'approve' | 'reject';

/** Why a decision cannot be taken (its type and message), or undefined when it can. */
export function decisionProblem(state: RunState, spec: AgentSpec, input: ApprovalSignal): DecisionProblem | undefined {
  if (
    !input ||
    typeof input.callId !== 'string' ||
    typeof input.approver !== 'string' ||
    input.approver.trim() === ''
  ) {
    return { type: 'BadDecision', message: 'a decision needs a callId and a non-empty approver' };
  }
  const decided = state.items.some((i) => i.type === 'approval' && i.callId === input.callId);
  if (decided) return { type: 'AlreadyDecided', message: `call ${input.callId} was already decided` };
  const pending = state.pendingApprovals.find((p) => p.callId === input.callId);
  if (!pending) return notPending(state, input.callId);
  if (input.argsHash !== undefined && input.argsHash !== pendingDigest(pending)) {
    const message = `the decision was made for other arguments of ${pending.tool} (${input.argsHash}) than call ${input.callId} has (${pendingDigest(pending)}): look again and decide what it asks now`;
    return { type: 'WrongArguments', message };
  }
  if (spec.approvers && !spec.approvers.includes(input.approver)) {
    return {
      type: 'NotAnApprover',
      message: `${input.approver} may not decide for agent ${spec.name} (approvers: ${spec.approvers.join(', ')})`,
    };
  }
  return extensionOf(pending, input);
}

/** Why an extension in a decision cannot count: only a `budget` call takes one, as whole tokens / dollars >= 0. */
function extensionOf(pending: PendingApproval, input: ApprovalSignal): DecisionProblem | undefined {
  if (input.extendTokens === undefined && input.extendUsd === undefined) return undefined;
  if (pending.tool !== BUDGET_TOOL)
    return {
      type: 'BadDecision',
      message: `an extension (extendTokens, extendUsd) is only for a budget approval, not for ${pending.tool}`,
    };
  const problem = extensionProblem(input.extendTokens, input.extendUsd);
  return problem ? { type: 'BadDecision', message: problem } : undefined;
}

export function notPending(state: RunState, callId: unknown): DecisionProblem {
  const waiting = state.pendingApprovals.map((p) => p.callId).join(', ') || 'none';
  return { type: 'NotPending', message: `no pending approval with callId ${String(callId)} (pending: ${waiting})` };
}

/** The update's failure for a decision that does not count; the client branches on its type. */
export const decisionFailure = (problem: DecisionProblem): ApplicationFailure =>
  keelFailure(problem.type, problem.message);

export function validateDecide(state: RunState, spec: AgentSpec, input: DecideInput): void {
  if (input?.decision !== 'approve' && input?.decision !== 'reject') {
    throw decisionFailure({ type: 'BadDecision', message: `decision must be 'approve' or 'reject'` });
  }
  const problem = decisionProblem(state, spec, input);
  if (problem) throw decisionFailure(problem);
}

/** Records a decision (and its standing form, for this agent's tool only) and removes the call from the pending list. */
export function applyDecision(
  state: RunState,
  input: ApprovalSignal & { decision: Decision },
  via: ApprovalItem['via'],
  at: string,
  verifiedKey?: string,
): PendingApproval[] {
  const decidedCalls = state.pendingApprovals.filter((p) => p.callId === input.callId);
  const first = decidedCalls[0];
  if (input.always && first) {
    state.standingDecisions[standingKey(first.agent, first.tool)] = input.decision;
    decidedCalls.push(
      ...state.pendingApprovals.filter(
        (p) => p.tool === first.tool && p.agent === first.agent && p.callId !== input.callId,
      ),
    );
  }
  for (const call of decidedCalls) {
    state.items.push({
      type: 'approval',
      callId: call.callId,
      tool: call.tool,
      decision: input.decision,
      approver: input.approver,
      ...(input.reason ? { reason: input.reason } : {}),
      at,
      via: call.callId === input.callId ? via : 'always',
      ...(verifiedKey ? { verifiedKey } : {}),
      agent: call.agent,
      argsHash: pendingDigest(call),
      ...(call.callId === input.callId && input.decision === 'approve' ? extension(input) : {}),
    });
  }
  const decidedIds = new Set(decidedCalls.map((c) => c.callId));
  state.pendingApprovals = state.pendingApprovals.filter((p) => !decidedIds.has(p.callId));
  return decidedCalls;
}

const extension = (input: ApprovalSignal): Pick<ApprovalItem, 'extendTokens' | 'extendUsd'> => ({
  ...(input.extendTokens !== undefined ? { extendTokens: input.extendTokens } : {}),
  ...(input.extendUsd !== undefined ? { extendUsd: input.extendUsd } : {}),
});

/**
 * Records the standing decision (alwaysApprove / alwaysReject) of this agent that covers a later call of its tool,
 * as an audit item naming who made it; undefined when the agent has none for the tool.
 */
export function applyStandingDecision(state: RunState, call: ToolCallItem, at: string): ApprovalItem | undefined {
  const decision = state.standingDecisions[standingKey(call.agent, call.name)];
  if (!decision) return undefined;
  const origin = [...approvalHistory(state)]
    .reverse()
    .find(
      (i): i is ApprovalItem =>
        i.type === 'approval' &&
        i.tool === call.name &&
        i.decision === decision &&
        (i.agent ?? call.agent) === call.agent,
    );
  const item: ApprovalItem = {
    type: 'approval',
    callId: call.callId,
    tool: call.name,
    decision,
    approver: origin?.approver ?? 'unknown',
    ...(origin?.reason ? { reason: origin.reason } : {}),
    at,
    via: 'always',
    ...(origin?.verifiedKey ? { verifiedKey: origin.verifiedKey } : {}),
    agent: call.agent,
    argsHash: argumentsDigest(call.arguments),
  };
  state.items.push(item);
  return item;
}

/**
 * The decision that covers `call`: made for its id, its agent and its arguments. A decision for the same id with
 * other arguments or by another agent's approvers never counts (items recorded before they carried both match by id).
 */
export function decisionFor(state: RunState, call: ToolCallItem): ApprovalItem | undefined {
  // Hashed only once an item names the call: a waiting run re-checks this on every activation.
  let digest: string | undefined;
  const sameArguments = (i: ApprovalItem) =>
    i.argsHash === undefined || i.argsHash === (digest ??= argumentsDigest(call.arguments));
  return state.items.find(
    (i): i is ApprovalItem =>
      i.type === 'approval' && i.callId === call.callId && (i.agent ?? call.agent) === call.agent && sameArguments(i),
  );
}

/** The text the model gets for a rejected call. */
export function rejectionText(spec: AgentSpec, item: ApprovalItem): string {
  return spec.rejectionMessage
    .replace('{reason}', item.reason ? ` (reason: ${item.reason})` : '')
    .replace('{approver}', item.approver);
}
