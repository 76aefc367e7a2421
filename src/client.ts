/**
 * KeelClient: start runs, decide approvals, read state and results. Everything goes through Temporal's
 * public surface (workflow `agentRun`, update `decide`, query `runState`), so the `temporal` CLI and the
 * Web UI see exactly what this client sees.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyObject } from 'node:crypto';
import {
  Client,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type ConnectionLike,
  type DataConverter,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, type PayloadCodec } from '@temporalio/common';
import { codecFromEnv, dataConverterFor } from './codec.js';
import { loadPrivateKey, signDecision, type SignedDecisionFields } from './agents/approver-keys.js';
import type { Agent } from './agents/agent.js';
import type { ConversationOptions } from './agents/spec.js';
import { checkStarted, rootCause, type StartCheck } from './client-start-check.js';
import { connectClient, temporalTarget } from './connection.js';
import { DecisionError, KeelError } from './errors.js';
import { isDecisionFailure, isFailure } from './failures.js';
import { ulid } from './util/ulid.js';
import { DeltaBroker } from './live/broker.js';
import type { RunEvent } from './live/events.js';
import { streamRun, type StreamOptions } from './live/stream.js';
import { approvalOwner, readTree, treeApprovals, type RunTreeNode, type TreeApproval } from './run-tree.js';
import { pendingDigest } from './workflows/call-binding.js';
import {
  DEFAULT_TASK_QUEUE,
  FAN_OUT_WORKFLOW_TYPE,
  MAX_FAN_OUT_INPUTS,
  WORKFLOW_TYPE,
  decideUpdate,
  endConversationSignal,
  runStateQuery,
  sendUpdate,
  type SendResult,
  type AgentRunInput,
  type AgentRunResult,
  type DecideResult,
  type FanOutInput,
  type FanOutItem,
  type FanOutResult,
} from './workflows/messages.js';
import { workspaceProblems, type WorkspaceRequest } from './agents/run-workspace.js';
import { codeSpan } from './workflows/summaries.js';
import { inputText, modelTurns, turnStarts, type RunState, type RunStatus } from './workflows/run-state.js';
import { parseRunState } from './workflows/parse-run-state.js';
import { withAllItems } from './run-items.js';
import type { BlobStore } from './storage/blob-store.js';
import type { TreeSnapshotStore } from './storage/tree-snapshot-store.js';
import { openRunWorkspace, type RunWorkspace, type WorkspaceOptions } from './results/workspace.js';
import {
  KeelAgent as KeelAgentKey,
  KeelStatus as KeelStatusKey,
  KeelTotalTokens as KeelTokensKey,
  KeelCostUsd as KeelCostKey,
} from './workflows/search-attributes.js';
import { budgetProblem, type Budget } from './agents/budget.js';

export interface KeelClientOptions {
  connection?: ConnectionLike;
  /** Used when no connection is given; default from Temporal's environment configuration, else localhost:7233. */
  address?: string;
  /** Payload conversion (e.g. an encryption codec); must match the workers'. */
  dataConverter?: DataConverter;
  namespace?: string;
  taskQueue?: string;
  /** How long to wait for the server when connecting. Default 10 s. */
  connectTimeoutMs?: number;
  /** Payload encryption; default from KEEL_CODEC_KEY / KEEL_CODEC_KEY_FILE (none when unset). `false` = none. */
  codec?: PayloadCodec | false;
  /** Redis URL of the token-delta broker; default KEEL_REDIS_URL. Without one, `stream` yields items but no token deltas. */
  redisUrl?: string;
  /** The workers' blob store, where long runs keep their earlier items (`getState`); default from KEEL_STORE / KEEL_HOME. */
  blobs?: BlobStore;
  /** The workers' snapshot store, which `workspace()` reads; default from KEEL_STORE / KEEL_HOME. */
  snapshots?: TreeSnapshotStore;
  /** The Temporal client identity recorded with every start, signal and update this client sends (the audit shows it). */
  identity?: string;
}

export interface GetStateOptions {
  /**
   * `all` (default): every item, those a long run holds by reference read from the blob store. `recent`: the state
   * as the run holds it, its earlier items named by `archivedItems` (no blob store needed).
   */
  items?: 'all' | 'recent';
}

export interface StartRunOptions {
  /** Workflow id; default `<agent>-<ulid>`. */
  id?: string;
  context?: unknown;
  maxTurns?: number;
  continueAsNewEveryTurns?: number;
  /** How long the sandbox's host may take to pick up work before the run moves to another host. Default 30 s. */
  hostPickupTimeoutMs?: number;
  /** Keep the run open after each answer for `send` (overrides the agent's `conversation`). */
  conversation?: ConversationOptions | boolean;
  /** `false` turns token deltas off for this run (they are on when the worker has a broker). */
  streamTokens?: boolean;
  /** What this run's tree may spend; tightens the agent's own `budget` (never loosens it). See docs/budgets.md. */
  budget?: Budget;
  /**
   * This run's workspace: `entries` (`gitRepo`, `file`, `dir`, `localDir`) added to or replacing the agent's manifest
   * entries, and/or `fromSnapshot: '<runId>' | '<runId>@<turn>'` (a run of the same tenant). Checked here and again by
   * the run; see docs/sandboxes.md "Per-run workspace".
   */
  workspace?: WorkspaceRequest;
  /** The tenant this run belongs to; default the context's `tenant`/`tenantId`. */
  tenant?: string;
}

export interface StartManyOptions {
  /** Workflow id of the job; default `<agent>-many-<ulid>`. Item runs are `<id>/<index>`. */
  id?: string;
  /** Item runs at once. Default 4. */
  concurrency?: number;
  context?: unknown;
  maxTurns?: number;
  /** What all items together may spend; each item starts with a share of what is left (docs/budgets.md). */
  budget?: Budget;
  /** The tenant of every item run. */
  tenant?: string;
}

export interface DecisionOptions {
  by: string;
  reason?: string;
  /** Apply to this tool for the rest of the run. */
  always?: boolean;
  /** The approver's Ed25519 private key (PEM text, a file holding it, or a KeyObject): signs the decision. */
  key?: string | KeyObject;
  /** Approving a `budget` call: how much more the run tree may spend (default: what the run asked for). */
  extendTokens?: number;
  extendUsd?: number;
}

export interface RunSummary {
  runId: string;
  agent?: string;
  status?: string;
  totalTokens?: number;
  /** The run's own model spend in USD (`KeelCostUsd`), once a priced call was made. */
  costUsd?: number;
  startTime: Date;
}

/** One clear error for a bad `budget` start option, before anything starts. */
function checkBudgetOption(budget: Budget | undefined): void {
  const problem = budget !== undefined ? budgetProblem(budget) : undefined;
  if (problem) throw new KeelError('bad_usage', problem);
}

/** The signature block of a decision, signed now with `key`. */
function signedBy(
  fields: Omit<SignedDecisionFields, 'time'>,
  key: string | KeyObject,
): { time: string; value: string } {
  const time = new Date().toISOString();
  return { time, value: signDecision({ ...fields, time }, typeof key === 'string' ? loadPrivateKey(key) : key) };
}

/** A run that ended without a final output; `type` is the failure type (e.g. MaxTurnsExceeded), `state` the RunState. */
export class RunFailedError extends Error {
  readonly type: string;
  readonly state?: RunState;
  constructor(message: string, type: string, state?: RunState, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.type = type;
    this.state = state;
  }
}

export class KeelClient {
  readonly temporal: Client;
  readonly taskQueue: string;
  /** The token-delta broker, when this client has one. */
  readonly broker?: DeltaBroker;
  private ownsBroker = false;
  private blobs?: BlobStore;
  private snapshots?: TreeSnapshotStore;

  constructor(
    client: Client,
    taskQueue = process.env.KEEL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    options: { broker?: DeltaBroker; blobs?: BlobStore; snapshots?: TreeSnapshotStore } = {},
  ) {
    this.temporal = client;
    this.taskQueue = taskQueue;
    this.broker = options.broker;
    this.blobs = options.blobs;
    this.snapshots = options.snapshots;
  }

  /** Connects through Temporal's environment configuration (profile file, TEMPORAL_* variables); see connection.ts. */
  static async connect(options: KeelClientOptions = {}): Promise<KeelClient> {
    const target = temporalTarget({ address: options.address, namespace: options.namespace });
    const connection = options.connection ?? (await connectClient(target, options.connectTimeoutMs));
    const codec = options.codec === false ? undefined : (options.codec ?? codecFromEnv());
    const client = new Client({
      connection,
      namespace: target.namespace,
      dataConverter: options.dataConverter ?? dataConverterFor(codec),
      ...(options.identity ? { identity: options.identity } : {}),
    });
    const redisUrl = options.redisUrl ?? process.env.KEEL_REDIS_URL;
    const broker = redisUrl ? await DeltaBroker.tryConnect(redisUrl) : undefined;
    const keel = new KeelClient(client, options.taskQueue, {
      broker,
      blobs: options.blobs,
      snapshots: options.snapshots,
    });
    keel.ownsBroker = Boolean(broker);
    return keel;
  }

  /** The same client (connection, namespace, payload codec, broker) sending as `identity`, which history records. */
  as(identity: string): KeelClient {
    const { connection, namespace, dataConverter } = this.temporal.options;
    return new KeelClient(new Client({ connection, namespace, dataConverter, identity }), this.taskQueue, {
      broker: this.broker,
      blobs: this.blobs,
      snapshots: this.snapshots,
    });
  }

  /** Closes what `connect` opened for this client (the broker connection). */
  async close(): Promise<void> {
    if (this.ownsBroker) await this.broker?.close();
  }

  private handle(runId: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(runId);
  }

  /** Starts a run and returns its id (the workflow id). */
  async startRun(agent: Agent | string, input: string, options: StartRunOptions = {}): Promise<string> {
    const name = typeof agent === 'string' ? agent : agent.name;
    const {
      context,
      maxTurns,
      continueAsNewEveryTurns,
      hostPickupTimeoutMs,
      conversation,
      streamTokens,
      workspace,
      tenant,
      budget,
    } = options;
    if (workspace !== undefined) checkWorkspace(workspace);
    checkBudgetOption(budget);
    return this.start(
      {
        agent: name,
        input,
        context,
        maxTurns,
        continueAsNewEveryTurns,
        hostPickupTimeoutMs,
        conversation,
        streamTokens,
        workspace,
        tenant,
        ...(budget ? { budget } : {}),
      },
      options.id,
    );
  }

  /**
   * The run's events in order: items as they land, approvals requested, status changes, and token deltas where the
   * worker and this client have a broker. Pass the last `seq` you saw as `after` to resume with no gap or duplicate.
   */
  stream(runId: string, options: StreamOptions = {}): AsyncGenerator<RunEvent> {
    return streamRun((id) => this.handle(id), runId, this.broker, this.temporal.options.namespace, options);
  }

  /** Sends user input to a run and returns the answer to it (a conversation's next answer). */
  async send<T = unknown>(runId: string, text: string): Promise<T> {
    return (await this.sendInput(runId, text)).output as T;
  }

  /** `send`, with the turn and event `seq` of the answer. Retried while the run continues as new. */
  async sendInput(runId: string, text: string): Promise<SendResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.handle(runId).executeUpdate(sendUpdate, { args: [{ text }] });
      } catch (err) {
        if (attempt < 50 && (await this.continuing(runId, err))) {
          await sleep(100);
          continue;
        }
        const cause = (err as { cause?: unknown }).cause;
        if (cause instanceof ApplicationFailure) throw new KeelError('bad_usage', cause.message);
        // Temporal answers an update to a closed run as "not found".
        if (err instanceof WorkflowNotFoundError)
          throw new KeelError('bad_usage', `run ${runId} has ended or does not exist`, { cause: err });
        throw err;
      }
    }
  }

  /** Whether an update failed only because the run was between two executions (continue-as-new). */
  private async continuing(runId: string, err: unknown): Promise<boolean> {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof ApplicationFailure) return isFailure(cause, 'Continuing');
    if (!(err instanceof WorkflowNotFoundError)) return false;
    const described = await this.handle(runId)
      .describe()
      .catch(() => undefined);
    return described?.status.name === 'RUNNING';
  }

  /** Closes a conversation: it finishes what it was sent and ends. */
  async endConversation(runId: string): Promise<void> {
    await this.handle(runId).signal(endConversationSignal);
  }

  /** Starts a new run from an exported RunState (`keel state --json`), optionally from a workspace snapshot. */
  async resumeFrom(state: unknown, options: { id?: string; restoreSnapshot?: string } = {}): Promise<string> {
    const parsed = parseRunState(state);
    // The run asks again for what the state says was decided (workflows/run/start-input.ts): say so in what it starts with.
    const fresh: RunState = {
      ...parsed,
      status: 'running',
      pendingApprovals: [],
      standingDecisions: {},
      sandbox: undefined,
      error: undefined,
      startSnapshot: undefined,
    };
    const restoreSnapshot = options.restoreSnapshot ?? parsed.sandbox?.lastSnapshot?.id;
    return this.start({ agent: parsed.agent, input: [], state: fresh, restoreSnapshot }, options.id);
  }

  /** Starts a new run from turn `turn` of an existing one: its items up to that turn and that turn's snapshot. */
  async fork(runId: string, turn: number, options: { id?: string } = {}): Promise<string> {
    const state = await this.getState(runId);
    if (!Number.isInteger(turn) || turn < 0 || turn > state.turn) {
      throw new KeelError('bad_usage', `turn must be between 0 and ${state.turn} for run ${runId}`);
    }
    const items = itemsUpToTurn(state, turn);
    const snapshot = [...state.snapshots].reverse().find((s) => s.turn <= turn);
    const forked: RunState = {
      ...state,
      items,
      turn,
      status: 'running',
      pendingApprovals: [],
      standingDecisions: {}, // a fork asks again: no decision of the original run carries (start-input.ts)
      finalOutput: undefined,
      error: undefined,
      sandbox: undefined,
      startSnapshot: undefined, // the fork's own start is snapshotted when its sandbox is created
      snapshots: snapshot ? [snapshot] : [],
      agent: [...items].reverse().find((i) => i.type === 'handoff')?.to ?? state.rootAgent,
    };
    return this.start({ agent: forked.agent, input: [], state: forked, restoreSnapshot: snapshot?.id }, options.id);
  }

  /**
   * Runs `agent` once per input as a fan-out job (workflow `fanOut`): each item its own child run (and sandbox),
   * at most `concurrency` at once. Returns the job's id; `resultMany` gives every item's outcome in input order.
   */
  async startMany(
    agent: Agent | string,
    inputs: (string | FanOutItem)[],
    options: StartManyOptions = {},
  ): Promise<string> {
    const name = typeof agent === 'string' ? agent : agent.name;
    const item = (i: unknown) =>
      typeof i === 'string' || (typeof i === 'object' && i !== null && typeof (i as FanOutItem).input === 'string');
    if (!Array.isArray(inputs) || !inputs.every(item))
      throw new KeelError('bad_usage', 'startMany needs an array of input strings or { input, workspace } items');
    for (const i of inputs) if (typeof i !== 'string' && i.workspace !== undefined) checkWorkspace(i.workspace);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new KeelError('bad_usage', `concurrency must be a positive integer, not ${concurrency}`);
    if (inputs.length > MAX_FAN_OUT_INPUTS)
      throw new KeelError('bad_usage', `startMany takes at most ${MAX_FAN_OUT_INPUTS} inputs, not ${inputs.length}`);
    const workflowId = options.id ?? `${name}-many-${ulid()}`;
    checkBudgetOption(options.budget);
    const input: FanOutInput = {
      agent: name,
      inputs,
      concurrency,
      context: options.context,
      maxTurns: options.maxTurns,
      tenant: options.tenant,
      ...(options.budget ? { budget: options.budget } : {}),
    };
    await this.temporal.workflow.start(FAN_OUT_WORKFLOW_TYPE, { taskQueue: this.taskQueue, workflowId, args: [input] });
    return workflowId;
  }

  /** Waits for a fan-out job: every item's outcome in input order (failed items included), and the summed usage. */
  async resultMany(jobId: string): Promise<FanOutResult> {
    return (await this.handle(jobId).result()) as FanOutResult;
  }

  /** The run (or fan-out job) and its descendants, read live. */
  getTree(rootId: string): Promise<RunTreeNode> {
    return readTree(rootId, (id) => this.getState(id, { items: 'recent' }));
  }

  /** Approvals pending anywhere in the tree under `rootId`, each with the run that asked. */
  async pendingInTree(rootId: string): Promise<TreeApproval[]> {
    return treeApprovals(await this.getTree(rootId));
  }

  private async start(input: AgentRunInput, id?: string): Promise<string> {
    const workflowId = id ?? `${input.agent}-${ulid()}`;
    await this.temporal.workflow.start(WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId,
      args: [input],
      ...runMetadata(input),
      typedSearchAttributes: startAttributes(input),
    });
    return workflowId;
  }

  /**
   * Waits (up to `timeoutMs`) until a worker resolved the run's agent; throws KeelError `agent_not_found` (with the
   * agents the worker knows) when it cannot, and says 'no-worker-yet' when no worker picked the run up in time.
   */
  checkStarted(runId: string, timeoutMs = 5_000): Promise<StartCheck> {
    return checkStarted(this.handle(runId), timeoutMs);
  }

  approve(runId: string, callId: string, options: DecisionOptions): Promise<DecideResult> {
    return this.decide(runId, callId, 'approve', options);
  }

  reject(runId: string, callId: string, options: DecisionOptions): Promise<DecideResult> {
    return this.decide(runId, callId, 'reject', options);
  }

  /**
   * Decides exactly `calls` (default: every call pending in the tree under `rootId` now), each at the run that
   * asked, so that run's approver rules apply, and each bound to the arguments listed: a call that appears later,
   * or whose arguments differ from the listing, is not decided. Results carry the deciding run's id.
   */
  async decideAll(
    rootId: string,
    decision: 'approve' | 'reject',
    options: DecisionOptions,
    calls?: TreeApproval[],
  ): Promise<(DecideResult & { runId: string })[]> {
    const results: (DecideResult & { runId: string })[] = [];
    for (const p of calls ?? (await this.pendingInTree(rootId))) {
      results.push({ ...(await this.decideAt(p.runId, p, decision, options)), runId: p.runId });
    }
    return results;
  }

  /** Decides `callId` at the run in the tree under `runId` that asked for it (the run itself first), bound to the call it reads there. */
  private async decide(
    runId: string,
    callId: string,
    decision: 'approve' | 'reject',
    o: DecisionOptions,
  ): Promise<DecideResult> {
    const own = (await this.getState(runId, { items: 'recent' })).pendingApprovals.find((p) => p.callId === callId);
    if (own) return this.decideAt(runId, { ...own, runId }, decision, o);
    const tree = await this.getTree(runId);
    const owner = approvalOwner(tree, callId);
    const pending = treeApprovals(tree).find((p) => p.runId === owner && p.callId === callId);
    // Not pending anywhere: the run's validator says why (already decided, unknown id) in its own words.
    return this.decideAt(owner, pending ?? { runId: owner, callId }, decision, o);
  }

  /**
   * Sends the decision to `runId` bound to the call as read (its arguments digest); with a key, signed for that
   * run, agent, tool, call, arguments and decision.
   */
  private async decideAt(
    runId: string,
    call: TreeApproval | { runId: string; callId: string },
    decision: 'approve' | 'reject',
    o: DecisionOptions,
  ): Promise<DecideResult> {
    const argsHash = 'tool' in call ? pendingDigest(call) : undefined;
    const extension = {
      ...(o.extendTokens !== undefined ? { extendTokens: o.extendTokens } : {}),
      ...(o.extendUsd !== undefined ? { extendUsd: o.extendUsd } : {}),
    };
    const decide = {
      callId: call.callId,
      decision,
      approver: o.by,
      reason: o.reason,
      always: o.always,
      argsHash,
      ...extension,
    };
    const signed =
      'tool' in call && o.key
        ? signedBy({ ...decide, runId, agent: call.agent, tool: call.tool, argsHash: argsHash! }, o.key)
        : undefined;
    try {
      return await this.handle(runId).executeUpdate(decideUpdate, { args: [{ ...decide, signature: signed }] });
    } catch (err) {
      throw decisionError(err);
    }
  }

  /** The run's RunState (`runState` query); with every item by default (see GetStateOptions). */
  async getState(runId: string, options: GetStateOptions = {}): Promise<RunState> {
    const state = parseRunState(await this.handle(runId).query(runStateQuery));
    return options.items === 'recent' ? state : this.withAllItems(state);
  }

  /** `state` with its archived items read back from the blob store (resolved from the environment on first need). */
  private async withAllItems(state: RunState): Promise<RunState> {
    if (!state.archivedItems) return state;
    this.blobs ??= (await import('./storage/config.js')).storesFromEnv().blobs;
    return withAllItems(state, this.blobs);
  }

  /**
   * A handle on a stored snapshot of the run's workspace (its last by default, any state: completed, failed,
   * cancelled, running): `list`, `read`, `tar`, `extract`, and `diff` against its starting workspace. Reads the
   * run's history and the snapshot store, so it needs no worker and no container.
   */
  async workspace(runId: string, options: WorkspaceOptions = {}): Promise<RunWorkspace> {
    this.snapshots ??= (await import('./storage/config.js')).storesFromEnv().snapshots;
    return openRunWorkspace(this.temporal, runId, this.snapshots, {
      ...options,
      dataConverter: this.temporal.options.dataConverter,
    });
  }

  /** Waits for the run's result; a failed run throws RunFailedError with its type and RunState. */
  async result(runId: string): Promise<AgentRunResult> {
    try {
      return (await this.handle(runId).result()) as AgentRunResult;
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const cause = err.cause;
        if (cause instanceof ApplicationFailure) {
          // A state too large for the failure is left out of it (workflows/run/run.ts `fail`): ask the run.
          const carried = cause.details?.[0] as RunState | undefined;
          const state = carried
            ? await this.withAllItems(carried).catch(() => carried)
            : await this.getState(runId).catch(() => undefined);
          throw new RunFailedError(cause.message, cause.type ?? 'Error', state, { cause: err });
        }
        if (cause instanceof CancelledFailure)
          throw new RunFailedError(`run ${runId} was cancelled`, 'Cancelled', undefined, { cause: err });
        throw new RunFailedError(rootCause(err), cause?.name ?? 'Error', undefined, { cause: err });
      }
      throw err;
    }
  }

  async cancel(runId: string): Promise<void> {
    await this.handle(runId).cancel();
  }

  /** Recent runs, optionally filtered by status or agent (search attributes). */
  async list(filter: { status?: RunStatus; agent?: string; limit?: number } = {}): Promise<RunSummary[]> {
    const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`];
    if (filter.status) clauses.push(`KeelStatus = '${filter.status}'`);
    if (filter.agent) clauses.push(`KeelAgent = '${filter.agent}'`);
    const out: RunSummary[] = [];
    for await (const wf of this.temporal.workflow.list({ query: clauses.join(' AND ') })) {
      const sa = wf.typedSearchAttributes;
      out.push({
        runId: wf.workflowId,
        agent: sa.get(KeelAgentKey) as string | undefined,
        status: (sa.get(KeelStatusKey) as string | undefined) ?? wf.status.name.toLowerCase(),
        totalTokens: sa.get(KeelTokensKey) as number | undefined,
        costUsd: sa.get(KeelCostKey) as number | undefined,
        startTime: wf.startTime,
      });
      if (out.length >= (filter.limit ?? 20)) break;
    }
    return out;
  }
}

/**
 * What the Web UI shows for a run before opening it (its list entry and header): which agent, what it was asked.
 * Static: set once at start, so it stays what the user asked even after a handoff.
 */
export function runMetadata(input: AgentRunInput): { staticSummary: string; staticDetails: string } {
  const asked = typeof input.input === 'string' ? input.input : inputText(input.state?.items ?? input.input);
  const oneLine = asked.replace(/\s+/g, ' ').trim();
  const brief = oneLine.length > 120 ? `${oneLine.slice(0, 119)}…` : oneLine;
  const how = input.state ? (input.restoreSnapshot ? 'resumed/forked from a snapshot' : 'resumed/forked') : 'asked';
  return {
    // Markdown in the Web UI: the input goes in a code span, so `<tags>` and `--` show as typed.
    staticSummary: `${input.agent} · ${brief ? codeSpan(brief) : '(no input)'}`,
    staticDetails: `Agent **${input.agent}**, ${how}:\n\n\`\`\`\`\n${asked.slice(0, 4000).replace(/`{4,}/g, '```')}\n\`\`\`\``,
  };
}

/**
 * The search attributes a run has from its start (`keel ls` finds it running before a worker picked it up), so the
 * run's first workflow task need not upsert them (a visibility write per run; the run upserts only what differs).
 */
function startAttributes(input: AgentRunInput) {
  return [
    { key: KeelStatusKey, value: 'running' },
    { key: KeelAgentKey, value: input.agent },
    ...(input.state ? [] : [{ key: KeelTokensKey, value: 0 }]),
  ];
}

/** Refuses a workspace request the run would refuse for its form alone (secrets and local roots are the run's to check). */
function checkWorkspace(workspace: WorkspaceRequest): void {
  const problems = workspaceProblems(workspace);
  if (problems.length) throw new KeelError('bad_usage', `workspace refused: ${problems.join('; ')}`);
}

/** Items recorded up to the end of turn `turn`; a compaction summary stands for the turns it replaced, which can no longer be cut apart. */
export function itemsUpToTurn(state: RunState, turn: number): RunState['items'] {
  const starts = turnStarts(state.items);
  const compacted = modelTurns(state.items) - starts.length;
  if (turn < compacted)
    throw new KeelError('bad_usage', `turn ${turn} was compacted into a summary; fork from turn ${compacted} or later`);
  const cut = starts[turn - compacted];
  return cut === undefined ? state.items : state.items.slice(0, cut);
}

/** A refused `decide` update as a DecisionError (its type says why); other errors as they are. */
export function decisionError(err: unknown): unknown {
  const cause = (err as { cause?: unknown }).cause;
  if (!(cause instanceof ApplicationFailure)) return err;
  return isDecisionFailure(cause.type)
    ? new DecisionError(cause.type, cause.message, { cause: err })
    : new KeelError('bad_usage', cause.message, { cause: err });
}
