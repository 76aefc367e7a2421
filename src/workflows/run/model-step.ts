/**
 * The model half of a turn: compaction when the context grew past the agent's threshold, the model call itself
 * (sending only what the blob store does not hold yet), and on the first turn the input guardrails.
 */
import { CancellationScope } from '@temporalio/workflow';
import type { CallModelResult } from '../../activities/types.js';
import { model, quick } from '../activities.js';
import { addUsage, compactionCut, inputText, modelTurns } from '../run-state.js';
import { modelSummary } from '../summaries.js';
import { conversation, fail, FAILURE_TYPES, nowIso, type Run } from './run.js';
import { archivedCount } from './archive.js';
import { isFailure } from '../../failures.js';

/**
 * One model call for the current turn. It refers to the pinned spec by ref rather than repeating it in every
 * call's input; a worker whose blob store lacks the ref (or the conversation) gets it all inline once.
 */
export async function callModel(run: Run): Promise<CallModelResult> {
  const { spec, state } = run;
  let inline = !spec.ref;
  const args = () => ({
    ...(inline ? { spec } : { specRef: { ref: spec.ref!, agent: spec.name, model: spec.model } }),
    workflowId: run.workflowId,
    turn: state.turn,
    history: conversation(run),
    instructionsSuffix: run.sandbox.instructionsSuffix(),
    ...(run.input.streamTokens === false ? { streamTokens: false } : {}),
  });
  const summary = { summary: modelSummary(spec.model, state.turn, state.items) };
  const length = archivedCount(state) + state.items.length;
  let result: CallModelResult;
  try {
    result = await model.callModel.executeWithOptions(summary, [args()]);
  } catch (err) {
    // Archived items exist only in the blob store: a worker without them cannot be sent the whole conversation.
    if ((!run.cursor.ref && inline) || !isBlobMissing(err) || state.archivedItems) throw err;
    run.cursor = { length: 0 }; // another host's blob store: send the whole conversation and the spec once
    inline = true;
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
  // A cut in the items held; archived items (all before them) are summarized too, even when the held ones are kept.
  const held = compactionCut(state.items, c.keepRecentTurns);
  const archived = state.archivedItems;
  if (held === 0 && !archived) return;
  const cut = archivedCount(state) + held;
  const r = await model.compactConversation.executeWithOptions({ summary: `compaction · turn ${state.turn}` }, [
    { spec, workflowId: run.workflowId, turn: state.turn, history: conversation(run), cut },
  ]);
  const turns = (archived?.modelTurns ?? 0) + modelTurns(state.items.slice(0, held));
  state.items = [
    { type: 'compaction', summary: r.summary, replacedItems: cut, turns, blob: r.blob },
    ...state.items.slice(held),
  ];
  if (archived) state.archivedItems = undefined; // the summary stands for them now
  run.live.events.compacted(state, held, nowIso());
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
    const r = await quick.runInputGuardrails({
      agent: spec.name,
      workflowId: run.workflowId,
      names,
      payload: text,
      context: state.context,
    });
    state.items.push(...r.items);
    if (r.tripwire)
      fail(
        run,
        FAILURE_TYPES.input,
        `input guardrail ${r.tripwire.name} tripped: ${JSON.stringify(r.tripwire.info ?? null)}`,
      );
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
  return isFailure(cause, 'BlobMissing');
}
