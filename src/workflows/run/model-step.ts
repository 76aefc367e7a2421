/**
 * The model half of a turn: compaction when the context grew past the agent's threshold, the model call itself
 * (sending only what the blob store does not hold yet), and on the first turn the input guardrails.
 */
import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import type { CallModelResult } from '../../activities/types.js';
import { model, quick } from '../activities.js';
import { addUsage, compactionCut, inputText, modelTurns } from '../run-state.js';
import { conversation, fail, FAILURE_TYPES, type Run } from './run.js';

/** One model call for the current turn. */
export async function callModel(run: Run): Promise<CallModelResult> {
  const { spec, state } = run;
  const args = () => ({
    spec,
    workflowId: run.workflowId,
    turn: state.turn,
    history: conversation(run),
    instructionsSuffix: run.sandbox.instructionsSuffix(),
  });
  const summary = { summary: `model ${spec.model} · turn ${state.turn}` };
  const length = state.items.length;
  let result: CallModelResult;
  try {
    result = await model.callModel.executeWithOptions(summary, [args()]);
  } catch (err) {
    if (!run.cursor.ref || !isBlobMissing(err)) throw err;
    run.cursor = { length: 0 }; // another host's blob store: send the whole conversation once
    result = await model.callModel.executeWithOptions(summary, [args()]);
  }
  run.cursor = { ref: result.historyRef, length };
  return result;
}

/** The turn's model call; on the first turn of an agent with input guardrails, checked by them. */
export function modelTurn(run: Run): Promise<CallModelResult> {
  const guarded = run.state.turn === 1 && run.spec.inputGuardrails.length > 0;
  return guarded ? firstTurnWithGuardrails(run) : callModel(run);
}

/** Replaces older items with a summary once the conversation passes the agent's compaction threshold. */
export async function compactIfNeeded(run: Run): Promise<void> {
  const { spec, state } = run;
  const c = spec.compaction;
  if (!c || state.contextTokens <= c.thresholdTokens) return;
  const cut = compactionCut(state.items, c.keepRecentTurns);
  if (cut === 0) return;
  const r = await model.compactConversation.executeWithOptions({ summary: `compaction · turn ${state.turn}` }, [
    { spec, workflowId: run.workflowId, turn: state.turn, history: conversation(run), cut },
  ]);
  const replaced = state.items.slice(0, cut);
  state.items = [{ type: 'compaction', summary: r.summary, replacedItems: cut, turns: modelTurns(replaced), blob: r.blob }, ...state.items.slice(cut)];
  state.usage = addUsage(state.usage, r.usage);
  state.contextTokens = 0;
  run.cursor = { length: 0 };
}

async function firstTurnWithGuardrails(run: Run): Promise<CallModelResult> {
  const { spec, state } = run;
  const text = inputText(state.items);
  const check = async (mode: 'blocking' | 'parallel') => {
    const names = spec.inputGuardrails.filter((g) => g.mode === mode).map((g) => g.name);
    if (names.length === 0) return;
    const r = await quick.runInputGuardrails({ agent: spec.name, workflowId: run.workflowId, names, payload: text, context: state.context });
    state.items.push(...r.items);
    if (r.tripwire) fail(run, FAILURE_TYPES.input, `input guardrail ${r.tripwire.name} tripped: ${JSON.stringify(r.tripwire.info ?? null)}`);
  };
  await check('blocking');
  if (!spec.inputGuardrails.some((g) => g.mode === 'parallel')) return callModel(run);
  // The model call starts at once; a tripped guardrail cancels it and ends the run before any tool runs.
  const scope = new CancellationScope();
  const turn = scope.run(() => callModel(run));
  turn.catch(() => undefined);
  try {
    await check('parallel');
  } catch (err) {
    scope.cancel();
    throw err;
  }
  return turn;
}

function isBlobMissing(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure && cause.type === 'BlobMissing';
}
