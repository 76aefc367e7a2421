/**
 * Decisions for agents with approver keys: each must carry the approver's signature, verified by an activity
 * (workflow code has no crypto) before it is applied. A refused decision is kept as an `approval_refused` audit
 * item; it never changes what was approved. Agents without keys never reach this file (names, not identities).
 */
import { quick } from '../activities.js';
import { applyDecision, decisionFailure, decisionProblem, notPending, type Decision } from '../approvals.js';
import type { DecisionProblem } from '../../failures.js';
import { pendingDigest } from '../call-binding.js';
import type { ApprovalSignal, DecideInput } from '../messages.js';
import { nowIso, type Run } from './run.js';

export const hasApproverKeys = (run: Run): boolean => Boolean(run.spec?.approverKeys?.length);

export function unsignedProblem(run: Run, input: ApprovalSignal): DecisionProblem | undefined {
  if (!hasApproverKeys(run) || input?.signature) return undefined;
  return {
    type: 'Unsigned',
    message: `decisions for agent ${run.spec.name} must be signed by an approver's key (keel approve --key FILE); this one is unsigned`,
  };
}

/** Verifies `input`; applies it when it holds (and is still decidable), else records the refusal. Returns why not. */
export async function applySigned(
  run: Run,
  input: ApprovalSignal & { decision: Decision },
  via: 'signal' | 'update',
): Promise<DecisionProblem | undefined> {
  const { state, spec } = run;
  const pending = state.pendingApprovals.find((p) => p.callId === input?.callId);
  const call = pending && { agent: pending.agent, tool: pending.tool, argsHash: pendingDigest(pending) };
  const check =
    input?.signature && call
      ? await quick.verifyApproval({ runId: run.workflowId, keys: spec.approverKeys ?? [], decision: input, call })
      : refused(
          unsignedProblem(run, input) ??
            (call ? { type: 'Unsigned', message: 'unsigned' } : notPending(state, input?.callId)),
        );
  if (!check.ok) {
    state.items.push({
      type: 'approval_refused',
      callId: String(input.callId),
      decision: input.decision,
      approver: String(input.approver),
      why: check.reason,
      at: nowIso(),
      via,
    });
    return { type: check.type ?? 'BadSignature', message: check.reason }; // no type: a result recorded before types
  }
  const problem = decisionProblem(state, spec, input); // decided by someone else while verifying?
  if (problem) return problem;
  applyDecision(state, input, via, nowIso(), check.fingerprint);
  return undefined;
}

/** The `decide` update's handler for agents with keys: throws (to the caller) when the decision does not count. */
export async function decideSigned(run: Run, decide: DecideInput): Promise<void> {
  const problem = await applySigned(run, decide, 'update');
  if (problem) throw decisionFailure(problem);
}

/** A problem found before verifying, in the shape of verifyApproval's refusal. */
const refused = (p: DecisionProblem) => ({ ok: false as const, type: p.type, reason: p.message });
