/**
 * The run's message handlers: the `runState` query, the `approve`/`reject` signals and the validated `decide`
 * update. Registered before the first activity so the state answers from the start.
 */
import { setHandler } from '@temporalio/workflow';
import { applyDecision, decisionProblem, validateDecide } from '../approvals.js';
import { approveSignal, decideUpdate, rejectSignal, runStateQuery, type ApprovalSignal, type DecideResult } from '../messages.js';
import { nowIso, type Run } from './run.js';

export function registerHandlers(run: Run): void {
  const { state } = run;
  setHandler(runStateQuery, () => state);
  const onSignal = (decision: 'approve' | 'reject') => (payload: ApprovalSignal) => {
    // Signals cannot answer the sender, so an invalid one is dropped (the update `decide` reports why).
    if (decisionProblem(state, run.spec, payload) === undefined) applyDecision(state, { ...payload, decision }, 'signal', nowIso());
  };
  setHandler(approveSignal, onSignal('approve'));
  setHandler(rejectSignal, onSignal('reject'));
  setHandler(
    decideUpdate,
    (decide): DecideResult => {
      applyDecision(state, decide, 'update', nowIso());
      return { callId: decide.callId, decision: decide.decision, stillPending: state.pendingApprovals.map((p) => p.callId) };
    },
    { validator: (decide) => validateDecide(state, run.spec, decide) },
  );
}
