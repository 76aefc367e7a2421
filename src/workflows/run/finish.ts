/**
 * How a run ends well: the final output validated (fed back once when invalid) and checked by output guardrails,
 * then memory kept up to date.
 */
import { isCancellation, log } from '@temporalio/workflow';
import type { CallModelResult } from '../../activities/types.js';
import { model, onHost, quick } from '../activities.js';
import { startConsolidation } from '../consolidate-memory.js';
import { conversation, fail, FAILURE_TYPES, type Run } from './run.js';

/** Accepts the model's final output; false when it was invalid and the model gets one more turn to fix it. */
export async function acceptFinal(run: Run, final: NonNullable<CallModelResult['final']>): Promise<boolean> {
  const { spec, state } = run;
  if (!final.ok) {
    if (state.outputRetries >= 1)
      fail(run, FAILURE_TYPES.invalidOutput, `the model's final output stayed invalid after one retry: ${final.error}`);
    state.outputRetries++;
    state.items.push({
      type: 'message',
      role: 'user',
      content: `Your final answer was rejected: ${final.error}. Answer again with output that matches the required JSON schema.`,
    });
    return false;
  }
  if (spec.outputGuardrails.length) {
    const payload = JSON.stringify(final.value ?? null);
    const r = await quick.runOutputGuardrails({
      agent: spec.name,
      workflowId: run.workflowId,
      names: spec.outputGuardrails,
      payload,
      context: state.context,
    });
    state.items.push(...r.items);
    if (r.tripwire)
      fail(
        run,
        FAILURE_TYPES.output,
        `output guardrail ${r.tripwire.name} tripped: ${JSON.stringify(r.tripwire.info ?? null)}`,
      );
  }
  state.finalOutput = final.value;
  return true;
}

/** After a completed run: keep live memory edits, extract this run's memories, consolidate when enough piled up. */
export async function finishMemory(run: Run): Promise<void> {
  const m = run.spec.memory;
  if (!m || m.mode !== 'read-write') return;
  try {
    const session = run.state.sandbox;
    if (m.liveUpdate && session && !session.removed) {
      await onHost(session.taskQueue).syncMemory.executeWithOptions({ summary: 'memory sync' }, [
        { session, memory: m },
      ]);
    }
    const input = { spec: run.spec, workflowId: run.workflowId, history: conversation(run), memory: m };
    const pending = await model.extractMemory.executeWithOptions({ summary: 'memory extraction' }, [input]);
    if (pending >= m.consolidateAfter) await startConsolidation(m);
  } catch (err) {
    if (isCancellation(err)) throw err;
    // Memory is a by-product: a failure to update it must not fail a run that did its job.
    log.warn('memory update failed', { error: String(err) });
  }
}
