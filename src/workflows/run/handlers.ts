/**
 * The run's message handlers: the `runState` query, the `approve`/`reject` signals and the validated `decide`
 * update. Registered before the first activity so the state answers from the start.
 */
import { setHandler } from '@temporalio/workflow';
import { applyDecision, decisionFailure, decisionProblem, validateDecide } from '../approvals.js';
import {
  approveSignal,
  decideUpdate,
  rejectSignal,
  runStateQuery,
  type ApprovalSignal,
  type DecideResult,
} from '../messages.js';
import { registerLiveHandlers, syncEvents } from './live.js';
import { nowIso, type Run } from './run.js';
import { applySigned, decideSigned, hasApproverKeys, unsignedProblem } from './signed-decisions.js';

export function registerHandlers(run: Run): void {
  const { state } = run;
  setHandler(runStateQuery, () => state);
  const onSignal = (decision: 'approve' | 'reject') => async (payload: ApprovalSignal) => {
    // Signals cannot answer the sender, so an invalid one is dropped (the update `decide` reports why); with
    // approver keys, a well-formed but unsigned or forged one is recorded as refused.
    if (decisionProblem(state, run.spec, payload) !== undefined) return;
    if (hasApproverKeys(run)) await applySigned(run, { ...payload, decision }, 'signal');
    else applyDecision(state, { ...payload, decision }, 'signal', nowIso());
    syncEvents(run);
  };
  setHandler(approveSignal, onSignal('approve'));
  setHandler(rejectSignal, onSignal('reject'));
  setHandler(
    decideUpdate,
    async (decide): Promise<DecideResult> => {
      if (hasApproverKeys(run)) await decideSigned(run, decide);
      else applyDecision(state, decide, 'update', nowIso());
      syncEvents(run);
      return {
        callId: decide.callId,
        decision: decide.decision,
        stillPending: state.pendingApprovals.map((p) => p.callId),
      };
    },
    {
      validator: (decide) => {
        validateDecide(state, run.spec, decide);
        const unsigned = unsignedProblem(run, decide);
        if (unsigned) throw decisionFailure(unsigned);
      },
    },
  );
  registerLiveHandlers(run);
}
