/**
 * `agentRun`: one agent run as a Temporal workflow. Its event history is the RunState: every model turn, tool
 * result, approval and handoff is an activity result or a message in history, so a run resumes after any crash
 * without calling the model again for turns it already has.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentSpec, ToolSpec } from '../agents/spec.js';
import type { CallModelInput, CallModelResult, RunToolResult } from '../activities/types.js';
import { localTools, model, onHost, quick, tools } from './activities.js';
import { startConsolidation } from './consolidate-memory.js';
import { applyDecision, applyStandingDecision, decisionFor, decisionProblem, pendingDetails, rejectionText, validateDecide } from './approvals.js';
import {
  approveSignal,
  decideUpdate,
  rejectSignal,
  runStateQuery,
  type AgentRunInput,
  type AgentRunResult,
  type ApprovalSignal,
  type DecideResult,
} from './messages.js';
import {
  addUsage,
  compactionCut,
  initialRunState,
  modelTurns,
  inputText,
  policyAllows,
  unansweredCalls,
  type GuardrailItem,
  type RunItem,
  type RunState,
  type RunStatus,
  type ToolCallItem,
  type ToolResultItem,
} from './run-state.js';
import { SandboxRouter } from './sandbox-router.js';
import { KeelAgent, KeelStatus, KeelTotalTokens } from './search-attributes.js';

const nowIso = () => new Date().toISOString();

/** Failure types a caller can branch on (ApplicationFailure.type). */
export const FAILURE_TYPES = {
  maxTurns: 'MaxTurnsExceeded',
  toolFailures: 'TooManyToolFailures',
  invalidOutput: 'InvalidOutput',
  input: 'InputGuardrailTripwire',
  output: 'OutputGuardrailTripwire',
  tool: 'ToolGuardrailTripwire',
  approvalTimeout: 'ApprovalTimeout',
} as const;

export async function agentRun(input: AgentRunInput): Promise<AgentRunResult> {
  const info = workflowInfo();
  const state: RunState = input.state
    ? { ...input.state, runId: info.workflowId, status: 'running' }
    : initialRunState({ runId: info.workflowId, agent: input.agent, input: input.input, context: input.context, now: nowIso() });
  // Assigned by the first `resolve` below; handlers registered before it only read it once approvals are pending.
  let spec!: AgentSpec;
  const sandbox = new SandboxRouter(state, info.workflowId, info.runId, input.hostPickupTimeoutMs);
  /** What the blob store already holds of the conversation, so each model call sends only what is new. */
  let cursor: { ref?: string; length: number } = (input.state && input.historyCursor) || { length: 0 };
  let continuing = false;

  async function resolve(agent: string): Promise<AgentSpec> {
    const resolved = await quick.resolveAgent({ agent, workflowId: info.workflowId, context: state.context });
    state.agentVersions[agent] = resolved.version;
    return resolved;
  }

  function setStatus(status: RunStatus): void {
    state.status = status;
    upsertSearchAttributes([
      { key: KeelStatus, value: status },
      { key: KeelAgent, value: state.agent },
      { key: KeelTotalTokens, value: state.usage.totalTokens },
    ]);
    if (status !== 'awaiting_approval') setCurrentDetails(`**${state.agent}** · turn ${state.turn} · ${status} · ${state.usage.totalTokens} tokens`);
  }

  function fail(type: string, message: string): never {
    state.error = { type, message };
    throw ApplicationFailure.create({ type, message, nonRetryable: true, details: [state] });
  }

  setHandler(runStateQuery, () => state);
  const onSignal = (decision: 'approve' | 'reject') => (payload: ApprovalSignal) => {
    // Signals cannot answer the sender, so an invalid one is dropped (the update `decide` reports why).
    if (decisionProblem(state, spec, payload) === undefined) applyDecision(state, { ...payload, decision }, 'signal', nowIso());
  };
  setHandler(approveSignal, onSignal('approve'));
  setHandler(rejectSignal, onSignal('reject'));
  setHandler(
    decideUpdate,
    (decide): DecideResult => {
      applyDecision(state, decide, 'update', nowIso());
      return { callId: decide.callId, decision: decide.decision, stillPending: state.pendingApprovals.map((p) => p.callId) };
    },
    { validator: (decide) => validateDecide(state, spec, decide) },
  );
  spec = await resolve(state.agent);

  /** The conversation for an activity: what the blob store holds by ref, plus the items since. */
  function conversation(): CallModelInput['history'] {
    return { baseRef: cursor.ref, baseLength: cursor.length, delta: state.items.slice(cursor.length) };
  }

  async function callModel(): Promise<CallModelResult> {
    const args = () => ({
      spec,
      workflowId: info.workflowId,
      turn: state.turn,
      history: conversation(),
      instructionsSuffix: sandbox.instructionsSuffix(),
    });
    const summary = { summary: `model ${spec.model} · turn ${state.turn}` };
    const length = state.items.length;
    let result: CallModelResult;
    try {
      result = await model.callModel.executeWithOptions(summary, [args()]);
    } catch (err) {
      if (!cursor.ref || !isBlobMissing(err)) throw err;
      cursor = { length: 0 }; // another host's blob store: send the whole conversation once
      result = await model.callModel.executeWithOptions(summary, [args()]);
    }
    cursor = { ref: result.historyRef, length };
    return result;
  }

  /** Replaces older items with a summary once the conversation passes the agent's compaction threshold. */
  async function compactIfNeeded(): Promise<void> {
    const c = spec.compaction;
    if (!c || state.contextTokens <= c.thresholdTokens) return;
    const cut = compactionCut(state.items, c.keepRecentTurns);
    if (cut === 0) return;
    const r = await model.compactConversation.executeWithOptions({ summary: `compaction · turn ${state.turn}` }, [
      {
        spec,
        workflowId: info.workflowId,
        turn: state.turn,
        history: conversation(),
        cut,
      },
    ]);
    const replaced = state.items.slice(0, cut);
    state.items = [{ type: 'compaction', summary: r.summary, replacedItems: cut, turns: modelTurns(replaced), blob: r.blob }, ...state.items.slice(cut)];
    state.usage = addUsage(state.usage, r.usage);
    state.contextTokens = 0;
    cursor = { length: 0 };
  }

  /** After a completed run: keep live memory edits, extract this run's memories, consolidate when enough piled up. */
  async function finishMemory(): Promise<void> {
    const m = spec.memory;
    if (!m || m.mode !== 'read-write') return;
    try {
      const session = state.sandbox;
      if (m.liveUpdate && session && !session.removed) {
        await onHost(session.taskQueue).syncMemory.executeWithOptions({ summary: 'memory sync' }, [{ session, memory: m }]);
      }
      const history = conversation();
      const pending = await model.extractMemory.executeWithOptions({ summary: 'memory extraction' }, [{ spec, workflowId: info.workflowId, history, memory: m }]);
      if (pending >= m.consolidateAfter) await startConsolidation(m);
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Memory is a by-product: a failure to update it must not fail a run that did its job.
      log.warn('memory update failed', { error: String(err) });
    }
  }

  async function firstTurnWithGuardrails(): Promise<CallModelResult> {
    const text = inputText(state.items);
    const blocking = spec.inputGuardrails.filter((g) => g.mode === 'blocking').map((g) => g.name);
    const parallel = spec.inputGuardrails.filter((g) => g.mode === 'parallel').map((g) => g.name);
    const check = async (names: string[]) => {
      if (names.length === 0) return;
      const r = await quick.runInputGuardrails({ agent: spec.name, workflowId: info.workflowId, names, payload: text, context: state.context });
      state.items.push(...r.items);
      if (r.tripwire) fail(FAILURE_TYPES.input, `input guardrail ${r.tripwire.name} tripped: ${JSON.stringify(r.tripwire.info ?? null)}`);
    };
    await check(blocking);
    if (parallel.length === 0) return callModel();
    // The model call starts at once; a tripped guardrail cancels it and ends the run before any tool runs.
    const scope = new CancellationScope();
    const turn = scope.run(() => callModel());
    turn.catch(() => undefined);
    try {
      await check(parallel);
    } catch (err) {
      scope.cancel();
      throw err;
    }
    return turn;
  }

  async function needsApproval(tool: ToolSpec, call: ToolCallItem): Promise<boolean> {
    if (applyStandingDecision(state, call, nowIso())) return false;
    switch (tool.approval.mode) {
      case 'never':
        return false;
      case 'always':
        return true;
      case 'policy':
        return !policyAllows(tool.approval, call.arguments);
      case 'function':
        return quick.checkApproval({ agent: spec.name, tool: tool.name, callId: call.callId, arguments: call.arguments, context: state.context });
    }
  }

  async function execute(tool: ToolSpec, call: ToolCallItem): Promise<RunToolResult> {
    const standing = state.standingDecisions[tool.name];
    if (standing === 'reject') return { output: rejectionText(spec, decisionFor(state, call.callId)!), isError: false, guardrails: [] };
    const base = { agent: spec.name, workflowId: info.workflowId, call, context: state.context };
    if (tool.kind === 'sandbox') return sandbox.runTool({ ...base, guardrails: tool.guardrails, sandboxSpec: spec.sandbox }, tool);
    const proxy = spec.toolExecution === 'local' ? localTools(tool.timeoutMs) : tools({ startToCloseTimeout: tool.timeoutMs });
    return proxy.runTool.executeWithOptions({ summary: `tool ${tool.name}` }, [{ ...base, guardrails: tool.guardrails }]);
  }

  /** Waits until every call in `callIds` is decided, honouring the agent's approval timeout. */
  async function awaitDecisions(callIds: string[]): Promise<void> {
    const decided = () => callIds.every((id) => decisionFor(state, id));
    if (decided()) return;
    setStatus('awaiting_approval');
    setCurrentDetails(pendingDetails(state.pendingApprovals));
    await sandbox.snapshot(state.turn);
    const timeout = spec.approvalTimeout;
    const inTime = timeout ? await condition(decided, timeout.ms) : (await condition(decided), true);
    if (!inTime && timeout) {
      if (timeout.onExpiry === 'fail') fail(FAILURE_TYPES.approvalTimeout, `no approval decision within ${timeout.ms} ms`);
      for (const id of callIds) {
        if (!decisionFor(state, id)) applyDecision(state, { callId: id, approver: 'timeout', decision: 'reject', reason: `no decision within ${timeout.ms} ms` }, 'timeout', nowIso());
      }
    }
    setStatus('running');
  }

  /** Runs one turn's tool calls: approved-or-free calls concurrently, then results in call order. */
  async function runCalls(calls: ToolCallItem[]): Promise<void> {
    const results = new Map<string, RunToolResult>();
    const asked: ToolCallItem[] = [];
    const free: { tool: ToolSpec; call: ToolCallItem }[] = [];
    for (const call of calls) {
      const tool = spec.tools.find((t) => t.name === call.name && t.kind !== 'handoff');
      if (!tool) {
        const known = spec.tools.map((t) => t.name).join(', ');
        results.set(call.callId, { output: `Error: there is no tool named '${call.name}'. Available tools: ${known}.`, isError: true, guardrails: [] });
      } else if (await needsApproval(tool, call)) {
        asked.push(call);
        state.pendingApprovals.push({ callId: call.callId, tool: call.name, arguments: call.arguments, agent: spec.name, requestedAt: nowIso() });
      } else {
        free.push({ tool, call });
      }
    }
    const runOne = async (tool: ToolSpec, call: ToolCallItem) => results.set(call.callId, await execute(tool, call));
    const approvedThenRun = async () => {
      await awaitDecisions(asked.map((c) => c.callId));
      await Promise.all(
        asked.map(async (call) => {
          const decision = decisionFor(state, call.callId)!;
          if (decision.decision === 'approve') return runOne(spec.tools.find((t) => t.name === call.name)!, call);
          results.set(call.callId, { output: rejectionText(spec, decision), isError: false, guardrails: [] });
        }),
      );
    };
    await Promise.all([...free.map(({ tool, call }) => runOne(tool, call)), asked.length ? approvedThenRun() : Promise.resolve()]);

    for (const call of calls) {
      const r = results.get(call.callId)!;
      state.items.push(...r.guardrails);
      const item: ToolResultItem = { type: 'tool_result', callId: call.callId, name: call.name, output: r.output, isError: r.isError, ...(r.blob ? { blob: r.blob } : {}), ...(r.image ? { image: r.image } : {}) };
      state.items.push(item);
      if (r.tripwire) fail(FAILURE_TYPES.tool, `tool guardrail ${r.tripwire.name} tripped on ${call.name}: ${JSON.stringify(r.tripwire.info ?? null)}`);
      state.consecutiveToolFailures = r.isError ? state.consecutiveToolFailures + 1 : 0;
      if (state.consecutiveToolFailures >= spec.maxConsecutiveToolFailures) {
        fail(FAILURE_TYPES.toolFailures, `${state.consecutiveToolFailures} consecutive tool calls failed; last: ${call.name}: ${r.output.slice(0, 300)}`);
      }
    }
  }

  async function handoff(call: ToolCallItem, others: ToolCallItem[]): Promise<void> {
    const target = spec.handoffs.find((h) => h.toolName === call.name)!;
    const from = spec.name;
    spec = await resolve(target.agent);
    state.agent = spec.name;
    await sandbox.ensure(spec);
    state.items.push({ type: 'handoff', callId: call.callId, from, to: spec.name, version: spec.version });
    state.items.push({ type: 'tool_result', callId: call.callId, name: call.name, output: JSON.stringify({ assistant: spec.name }), isError: false });
    for (const extra of others) {
      state.items.push({ type: 'tool_result', callId: extra.callId, name: extra.name, output: 'Error: only one handoff per turn is taken; this one was ignored.', isError: true });
    }
    setStatus('running');
  }

  async function finish(final: NonNullable<CallModelResult['final']>): Promise<boolean> {
    if (!final.ok) {
      if (state.outputRetries >= 1) fail(FAILURE_TYPES.invalidOutput, `the model's final output stayed invalid after one retry: ${final.error}`);
      state.outputRetries++;
      state.items.push({ type: 'message', role: 'user', content: `Your final answer was rejected: ${final.error}. Answer again with output that matches the required JSON schema.` });
      return false;
    }
    if (spec.outputGuardrails.length) {
      const r = await quick.runOutputGuardrails({ agent: spec.name, workflowId: info.workflowId, names: spec.outputGuardrails, payload: JSON.stringify(final.value ?? null), context: state.context });
      state.items.push(...r.items);
      if (r.tripwire) fail(FAILURE_TYPES.output, `output guardrail ${r.tripwire.name} tripped: ${JSON.stringify(r.tripwire.info ?? null)}`);
    }
    state.finalOutput = final.value;
    return true;
  }

  /** Runs a turn's tool calls, snapshots the workspace if they changed it (fork starts from there), then hands off. */
  async function answer(calls: ToolCallItem[]): Promise<void> {
    const handoffs = calls.filter((c) => spec.tools.some((t) => t.kind === 'handoff' && t.name === c.name));
    await runCalls(calls.filter((c) => !handoffs.includes(c)));
    await sandbox.snapshotIfChanged(state.turn);
    if (handoffs.length) await handoff(handoffs[0], handoffs.slice(1));
  }

  const maxTurns = input.maxTurns ?? spec.maxTurns;
  try {
    setStatus('running');
    await sandbox.ensure(spec, input.restoreSnapshot);
    // A state exported mid-turn (say, while a call awaited approval) first answers that turn's open calls.
    if (input.state) {
      const open = unansweredCalls(state.items);
      state.pendingApprovals = state.pendingApprovals.filter((p) => !open.some((c) => c.callId === p.callId));
      if (open.length) await answer(open);
    }
    for (;;) {
      if (state.turn >= maxTurns) fail(FAILURE_TYPES.maxTurns, `the run reached its limit of ${maxTurns} turns without a final output`);
      state.turn++;
      const firstTurn = state.turn === 1 && spec.inputGuardrails.length > 0;
      await compactIfNeeded();
      const turn = firstTurn ? await firstTurnWithGuardrails() : await callModel();
      state.contextTokens = turn.usage.inputTokens + turn.usage.outputTokens;
      state.items.push(...turn.items);
      state.usage = addUsage(state.usage, turn.usage);
      setStatus('running');

      if (turn.final) {
        if (await finish(turn.final)) break;
        continue;
      }
      await answer(turn.items.filter((i): i is ToolCallItem => i.type === 'tool_call'));

      if (workflowInfo().continueAsNewSuggested || (input.continueAsNewEveryTurns && state.turn % input.continueAsNewEveryTurns === 0)) {
        await condition(allHandlersFinished);
        continuing = true;
        state.continuedAsNew++;
        await continueAsNew<typeof agentRun>({ ...input, agent: state.agent, state, restoreSnapshot: undefined, historyCursor: cursor });
      }
    }
    await finishMemory();
    setStatus('completed');
    await sandbox.close(state.turn, spec);
    return { runId: info.workflowId, agent: state.agent, finalOutput: state.finalOutput, usage: state.usage, turns: state.turn };
  } catch (err) {
    if (continuing) throw err;
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(async () => {
      setStatus(cancelled ? 'cancelled' : 'failed');
      await sandbox.close(state.turn, spec);
    });
    if (cancelled || state.error) throw err;
    // An activity that failed for good (say, a 400 from the model API): fail the run with its own type and message.
    const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
    fail(cause?.type ?? 'Error', cause?.message ?? (err instanceof Error ? err.message : String(err)));
  }
}

function isBlobMissing(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure && cause.type === 'BlobMissing';
}

export type { GuardrailItem, RunItem };
