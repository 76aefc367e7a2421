/**
 * The run's sandbox session as the workflow sees it: routes sandbox activities to the worker-specific queue
 * of the host running the container, serializes them (one workspace, one writer), snapshots, and moves the run
 * to another host (restoring the last snapshot) when the host stops picking up work.
 */
import { ActivityCancellationType, TimeoutType } from '@temporalio/common';
import { ActivityFailure, TimeoutFailure, log, patched, workflowInfo } from '@temporalio/workflow';
import type { AgentSpec, SandboxSpec, ToolSpec } from '../agents/spec.js';
import type { RunToolInput, RunToolResult } from '../activities/types.js';
import { HOST_PICKUP_TIMEOUT_MS, onHost, onQueue, queued, quick } from './activities.js';
import { tierQueue } from './sandbox-tiers.js';
import type { CreateSandboxInput } from '../activities/types.js';
import { restoredNotice, type RunState, type RunStatus, type SandboxSession } from './run-state.js';
import type { MemorySpec } from '../agents/memory.js';
import { toolSummary } from './summaries.js';
import { isFailure } from '../failures.js';

/** Patch id: at run end a container is kept (named, left by the reaper) for `keepContainer` or a failed last snapshot. */
export const KEEP_SANDBOX = 'keel-keep-sandbox';
/** Patch id: a failed snapshot's error is kept in the session (`snapshotFailure`), not only logged. */
export const SNAPSHOT_FAILURE = 'keel-snapshot-failure';

/** Patch id: handoffs between sandbox agents replace the session (runs recorded before keep the shared one). */
export const OWN_SANDBOX_PER_AGENT = 'keel-own-sandbox-per-agent';

/** Patch id: the run's first sandbox is snapshotted as materialized, before any command (`state.startSnapshot`). */
export const START_SNAPSHOT = 'keel-start-snapshot';

/** Patch id: a creation refused by a full host waits in line (status `waiting_for_sandbox`) instead of failing. */
export const SANDBOX_QUEUE = 'keel-sandbox-queue';

/** Patch id: the sandbox of an agent naming a tier is created on that tier's shared queue (sandbox-tiers.ts). */
export const SANDBOX_TIERS = 'keel-sandbox-tiers';

export class SandboxRouter {
  private spec?: SandboxSpec;
  private memory?: MemorySpec;
  private queue: Promise<unknown> = Promise.resolve();
  /** Sets the run's status (and its search attribute); the run wires it to `setStatus`. */
  onStatus: (status: RunStatus) => void = () => undefined;

  constructor(
    private readonly state: RunState,
    private readonly workflowId: string,
    private readonly runId: string,
    /** How long the container's host may take to pick up work before the run moves to another host. */
    private readonly pickupTimeoutMs: number = HOST_PICKUP_TIMEOUT_MS,
  ) {}

  private host(taskQueue: string, options: Parameters<typeof onHost>[1] = {}) {
    return onHost(taskQueue, { scheduleToStartTimeout: this.pickupTimeoutMs, ...options });
  }

  /** Runs `fn` after every sandbox operation queued before it: one workspace, one writer, snapshots in order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  instructionsSuffix(): string | undefined {
    const tree = this.state.sandbox?.workspaceTree;
    return tree ? `The workspace (/workspace) contains:\n${tree}` : undefined;
  }

  /**
   * Creates the run's container if the agent has a sandbox and the run has none yet. A handoff to another sandbox
   * agent replaces the session (snapshot, remove, then a fresh one from the new agent's own spec), so its image,
   * manifest, limits and network setting hold; sessions from before that rule (no `agent`) are kept as they were.
   */
  async ensure(agent: AgentSpec, restoreSnapshot?: string, overlay?: CreateSandboxInput['overlay']): Promise<void> {
    if (!agent.sandbox) return;
    const current = this.state.sandbox;
    const foreign = current && !current.removed && current.agent !== undefined && current.agent !== agent.name;
    const replace = foreign && patched(OWN_SANDBOX_PER_AGENT);
    if (replace) await this.retire(current);
    this.spec = agent.sandbox;
    this.memory = agent.memory;
    if (this.state.sandbox && !this.state.sandbox.removed) return;
    const restore = replace ? undefined : (restoreSnapshot ?? this.state.sandbox?.lastSnapshot?.id);
    // The starting workspace (the base of `keel diff`): the run's first sandbox, snapshotted by the creating activity.
    const startSnapshot = !current && patched(START_SNAPSHOT) ? { turn: this.state.turn } : undefined;
    const created = await this.create(
      `sandbox ${agent.sandbox.image} for ${agent.name}`,
      restore,
      restore ? overlay : undefined,
      startSnapshot,
    );
    this.state.sandbox = { ...created, agent: agent.name };
    const start = this.state.sandbox.startSnapshot;
    if (start) {
      this.state.startSnapshot = start;
      this.state.snapshots.push(start);
    }
  }

  /**
   * The spec with the tools of the agent's MCP servers inside the sandbox, which exist only once the sandbox does:
   * listed on its host and pinned anew (the activity's result is the pinned list in history). No activity, and the
   * spec as it was, for agents without such servers.
   */
  async withMcpTools(spec: AgentSpec): Promise<AgentSpec> {
    const session = this.state.sandbox;
    if (!spec.sandboxMcpServers?.length || !session || session.removed) return spec;
    const summary = `list MCP tools in sandbox (${spec.sandboxMcpServers.join(', ')})`;
    return this.serial(() =>
      this.host(session.taskQueue).pinSandboxMcpTools.executeWithOptions({ summary }, [{ spec, session }]),
    );
  }

  /** Snapshots and removes the previous agent's session (its snapshot stays in `state.snapshots`). */
  private async retire(session: SandboxSession): Promise<void> {
    await this.snapshot(this.state.turn);
    const remove = { summary: `sandbox remove (handoff from ${session.agent})` };
    try {
      await this.serial(() =>
        this.host(session.taskQueue).destroySandbox.executeWithOptions(remove, [{ session, turn: this.state.turn }]),
      );
    } catch (err) {
      log.warn('sandbox removal on handoff failed; the reaper will remove it', { error: String(err) });
    }
    session.removed = true;
  }

  /**
   * A new container on whichever worker picks this up, from the manifest or a snapshot. A full host says so at
   * once; the run then shows `waiting_for_sandbox` and waits in a host's line until a slot frees.
   */
  private async create(
    summary: string,
    restoreSnapshot: string | undefined,
    overlay?: CreateSandboxInput['overlay'],
    startSnapshot?: CreateSandboxInput['startSnapshot'],
  ): Promise<SandboxSession> {
    const input: CreateSandboxInput = {
      workflowId: this.workflowId,
      runId: this.runId,
      spec: this.spec!,
      restoreSnapshot,
      memory: this.memory,
      ...(overlay ? { overlay } : {}),
      ...(startSnapshot ? { startSnapshot } : {}),
    };
    const creator = this.creators();
    try {
      return await creator.quick.createSandbox.executeWithOptions({ summary, startToCloseTimeout: '10 minutes' }, [
        { ...input, ifFull: 'fail' },
      ]);
    } catch (err) {
      if (!isHostFull(err) || !patched(SANDBOX_QUEUE)) throw err;
    }
    const before = this.state.status;
    this.onStatus('waiting_for_sandbox');
    const session = await creator.queued.createSandbox.executeWithOptions(
      { summary: `${summary} (waited for a free slot)` },
      [{ ...input, ifFull: 'wait' }],
    );
    this.onStatus(before);
    return session;
  }

  /** Where a sandbox is created: any worker of the run's queue, or one offering the tier the agent asked for. */
  private creators(): Pick<ReturnType<typeof onQueue>, 'quick' | 'queued'> {
    const tier = this.spec?.tier;
    if (!tier || !patched(SANDBOX_TIERS)) return { quick, queued };
    return onQueue(tierQueue(workflowInfo().taskQueue, tier));
  }

  /** Runs a sandbox tool on the container's host, one at a time. */
  runTool(input: Omit<RunToolInput, 'sandbox'>, tool: ToolSpec): Promise<RunToolResult> {
    return this.serial(() => this.runToolNow(input, tool));
  }

  private async runToolNow(input: Omit<RunToolInput, 'sandbox'>, tool: ToolSpec): Promise<RunToolResult> {
    if (!this.state.sandbox || !this.spec) {
      return { output: `Error: ${tool.name} needs a sandbox and this agent has none.`, isError: true, guardrails: [] };
    }
    // A cancelled run waits for the command to be killed before it snapshots and removes the container.
    const attempt = () =>
      this.host(this.state.sandbox!.taskQueue, {
        startToCloseTimeout: tool.timeoutMs,
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      }).runTool.executeWithOptions({ summary: toolSummary(input.call) }, [{ ...input, sandbox: this.state.sandbox }]);
    let notice = '';
    let result: RunToolResult;
    try {
      result = await attempt();
    } catch (err) {
      if (!isHostLost(err)) throw err;
      notice = await this.moveHost();
      result = await attempt();
    }
    if (result.sandbox) this.state.sandbox = { ...result.sandbox, agent: this.state.sandbox.agent };
    if (changesWorkspace(tool, result)) this.state.sandbox.commandsSinceSnapshot++;
    return notice ? { ...result, output: `${notice}\n${result.output}` } : result;
  }

  /** The host stopped answering: recreate the container elsewhere from the last snapshot. */
  private async moveHost(): Promise<string> {
    const lost = this.state.sandbox!;
    log.warn('sandbox host lost; restoring on another host', { host: lost.host, snapshot: lost.lastSnapshot?.id });
    this.state.sandbox = {
      ...(await this.create('sandbox restore (host lost)', lost.lastSnapshot?.id)),
      agent: lost.agent,
    };
    this.state.sandbox.lastSnapshot = lost.lastSnapshot;
    return restoredNotice('host', lost);
  }

  /** Snapshots /workspace; failures are logged, not fatal (the previous snapshot still stands). False when it failed. */
  snapshot(turn: number): Promise<boolean> {
    return this.serial(() => this.snapshotNow(turn));
  }

  /** Snapshots at the end of a turn whose commands changed the workspace, so `fork` can start from that turn. */
  async snapshotIfChanged(turn: number): Promise<void> {
    if (this.state.sandbox?.commandsSinceSnapshot) await this.snapshot(turn);
  }

  private async snapshotNow(turn: number): Promise<boolean> {
    const session = this.state.sandbox;
    if (!session || session.removed) return true;
    try {
      const ref = await this.host(session.taskQueue).snapshotSandbox.executeWithOptions(
        { summary: `snapshot turn ${turn}` },
        [{ session, turn }],
      );
      session.lastSnapshot = ref;
      session.commandsSinceSnapshot = 0;
      delete session.snapshotFailure;
      this.state.snapshots.push(ref);
      return true;
    } catch (err) {
      // What a hostile workspace did (a snapshot cap) shows in `runState`, not only in a log line.
      const message = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
      if (patched(SNAPSHOT_FAILURE)) session.snapshotFailure = { turn, message };
      log.warn('snapshot failed', { error: message });
      return false;
    }
  }

  /**
   * At run end: snapshot, then remove the container, unless the agent keeps it or the snapshot failed (the
   * container then holds the only copy of the final workspace): it is kept, and the RunState says so and why.
   */
  async close(turn: number, agent: AgentSpec): Promise<void> {
    const session = this.state.sandbox;
    if (!session || session.removed) return;
    const saved = await this.snapshot(turn);
    const keep = agent.sandbox?.keepContainer
      ? 'keepContainer'
      : saved
        ? undefined
        : 'the last snapshot failed; the container holds the final workspace';
    if (keep && patched(KEEP_SANDBOX)) return this.keep(session, turn, keep);
    if (agent.sandbox?.keepContainer) return;
    try {
      await this.host(session.taskQueue).destroySandbox.executeWithOptions({ summary: 'sandbox remove' }, [
        { session, turn },
      ]);
      session.removed = true;
    } catch (err) {
      log.warn('sandbox removal failed; the reaper will remove it', { error: String(err) });
    }
  }

  /** Marks the container kept on its host; if that fails too (the host is gone), the state still says what happened. */
  private async keep(session: SandboxSession, turn: number, reason: string): Promise<void> {
    try {
      const name = await this.serial(() =>
        this.host(session.taskQueue).keepSandbox.executeWithOptions({ summary: 'sandbox kept' }, [{ session, turn }]),
      );
      session.kept = { reason, ...(name ? { name } : {}) };
    } catch (err) {
      log.warn('marking the sandbox kept failed', { error: String(err) });
      session.kept = { reason: `${reason} (marking it kept failed: ${String(err)})` };
    }
  }
}

/** Whether a sandbox tool call may have changed the workspace (what a lost container loses). */
export function changesWorkspace(tool: ToolSpec, result: RunToolResult): boolean {
  if (result.changed !== undefined) return result.changed; // a built-in says so (its definition, src/tools/sandbox/)
  // An MCP server inside the sandbox may write the workspace (a git server commits): count what it did.
  if (tool.kind === 'mcp' && tool.mcp.inSandbox) return !result.isError;
  return legacyChangesWorkspace(tool.name, result);
}

/**
 * Built-in results recorded before `RunToolResult.changed` (2026-12-07) replay by the name list of then. New
 * results lack the field only where the handler never ran (all errors, which this also counts as no change) or for
 * capability tools (never counted: not in the list). Remove, answering `false`, once no open run started before.
 */
function legacyChangesWorkspace(name: string, result: RunToolResult): boolean {
  if (name === 'exec_command') return result.executed === true;
  return (name === 'write_file' || name === 'apply_patch') && !result.isError;
}

function isHostLost(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START
  );
}

function isHostFull(err: unknown): boolean {
  return err instanceof ActivityFailure && isFailure(err.cause, 'SandboxHostFull');
}
