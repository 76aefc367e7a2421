/**
 * What a run takes from its start input. Anyone allowed to start a workflow on the namespace can send any input, so
 * a RunState and pinned AgentSpecs are trusted only when this run carried them itself: the server says an execution
 * continued as new (`continuedFromExecutionRunId`), which no starter can forge. From any other start (`keel
 * resume`, `fork`, a raw `temporal workflow start`) the specs are resolved again from the worker's registry (the
 * only source of `env`, `localDir` and `gitRepo` a worker acts on), and the supplied state is history, not
 * authority: its decisions, standing decisions, pending calls and sandbox session are not honoured, and a call it
 * left open is asked again (under a new id when the state holds a decision for it, which then cannot match).
 */
import { patched } from '@temporalio/workflow';
import type { AgentRunInput } from '../messages.js';
import type { RunState } from '../run-state.js';
import { unansweredCalls } from '../run-state.js';
import { standingKey, withUniqueCallIds } from '../call-binding.js';

/** Patch id: state and pinned specs count only when carried by continue-as-new. */
const TRUST_ONLY_CARRIED = 'keel-trust-only-carried-input';

export function trustedInput(input: AgentRunInput, continuedAsNew: boolean): AgentRunInput {
  if (continuedAsNew) return input.state ? { ...input, state: withScopedStanding(input.state) } : input;
  if (!input.state && !input.pinnedSpecs) return input;
  // Runs recorded before this rule replay with what their starter gave them.
  if (!patched(TRUST_ONLY_CARRIED)) return input;
  const { pinnedSpecs: _ignored, historyCursor: _cursor, ...rest } = input;
  return rest.state ? { ...rest, state: imported(rest.state) } : rest;
}

/**
 * A supplied state as history only: nothing it says was decided counts, and its open calls are asked again; one
 * the state holds a decision for gets a new id, so that decision cannot match it (the others keep theirs).
 */
function imported(state: RunState): RunState {
  const decided = new Set(
    state.items.flatMap((i) => (i.type === 'approval' || i.type === 'approval_refused' ? [i.callId] : [])),
  );
  const open = unansweredCalls(state.items).filter((call) => decided.has(call.callId));
  const fresh = new Map(open.map((call) => [call, withUniqueCallIds(state.items, [call], 'resumed')[0]]));
  return {
    ...state,
    items: state.items.map((i) => (i.type === 'tool_call' && fresh.has(i) ? fresh.get(i)! : i)),
    pendingApprovals: [],
    standingDecisions: {},
    sandbox: undefined,
  };
}

/**
 * Standing decisions of states carried from before they were scoped per agent (keyed by tool name alone): they
 * belong to the agent in charge when the execution continued as new.
 */
function withScopedStanding(state: RunState): RunState {
  const entries = Object.entries(state.standingDecisions);
  if (entries.every(([key]) => key.includes(':'))) return state;
  const scoped = entries.map(([key, decision]) => [key.includes(':') ? key : standingKey(state.agent, key), decision]);
  return { ...state, standingDecisions: Object.fromEntries(scoped) };
}
