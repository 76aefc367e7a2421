/**
 * The run's sandbox session as the workflow sees it: routes sandbox activities to the worker-specific queue
 * of the host running the container, serializes them (one workspace, one writer), snapshots, and moves the run
 * to another host (restoring the last snapshot) when the host stops picking up work.
 */
import { TimeoutType } from '@temporalio/common';
import { ActivityFailure, TimeoutFailure, log } from '@temporalio/workflow';
import type { AgentSpec, SandboxSpec, ToolSpec } from '../agents/spec';
import type { RunToolInput, RunToolResult } from '../activities/types';
import { onHost, quick } from './activities';
import type { RunState } from './run-state';

export class SandboxRouter {
  private spec?: SandboxSpec;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: RunState,
    private readonly workflowId: string,
    private readonly runId: string,
  ) {}

  instructionsSuffix(): string | undefined {
    const tree = this.state.sandbox?.workspaceTree;
    return tree ? `The workspace (/workspace) contains:\n${tree}` : undefined;
  }

  /** Creates the run's container if the agent has a sandbox and the run has none yet. */
  async ensure(agent: AgentSpec, restoreSnapshot?: string): Promise<void> {
    if (!agent.sandbox) return;
    this.spec = agent.sandbox;
    if (this.state.sandbox && !this.state.sandbox.removed) return;
    this.state.sandbox = await quick.createSandbox.executeWithOptions(
      { summary: `sandbox ${agent.sandbox.image}`, startToCloseTimeout: '10 minutes' },
      [
        {
          workflowId: this.workflowId,
          runId: this.runId,
          spec: agent.sandbox,
          restoreSnapshot: restoreSnapshot ?? this.state.sandbox?.lastSnapshot?.id,
          memory: agent.memory,
        },
      ],
    );
  }

  /** Runs a sandbox tool on the container's host, one at a time. */
  runTool(input: Omit<RunToolInput, 'sandbox'>, tool: ToolSpec): Promise<RunToolResult> {
    const next = this.queue.then(() => this.runToolNow(input, tool));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runToolNow(input: Omit<RunToolInput, 'sandbox'>, tool: ToolSpec): Promise<RunToolResult> {
    if (!this.state.sandbox || !this.spec) {
      return { output: `Error: ${tool.name} needs a sandbox and this agent has none.`, isError: true, guardrails: [] };
    }
    const attempt = () =>
      onHost(this.state.sandbox!.taskQueue, { startToCloseTimeout: tool.timeoutMs }).runTool.executeWithOptions(
        { summary: `tool ${tool.name}` },
        [{ ...input, sandbox: this.state.sandbox }],
      );
    let notice = '';
    let result: RunToolResult;
    try {
      result = await attempt();
    } catch (err) {
      if (!isHostLost(err)) throw err;
      notice = await this.moveHost();
      result = await attempt();
    }
    if (result.sandbox) this.state.sandbox = result.sandbox;
    if (tool.name === 'exec_command' && result.executed) this.state.sandbox.commandsSinceSnapshot++;
    return notice ? { ...result, output: `${notice}\n${result.output}` } : result;
  }

  /** The host stopped answering: recreate the container elsewhere from the last snapshot. */
  private async moveHost(): Promise<string> {
    const lost = this.state.sandbox!;
    log.warn('sandbox host lost; restoring on another host', { host: lost.host, snapshot: lost.lastSnapshot?.id });
    this.state.sandbox = await quick.createSandbox.executeWithOptions(
      { summary: 'sandbox restore (host lost)', startToCloseTimeout: '10 minutes' },
      [{ workflowId: this.workflowId, runId: this.runId, spec: this.spec!, restoreSnapshot: lost.lastSnapshot?.id }],
    );
    this.state.sandbox.lastSnapshot = lost.lastSnapshot;
    const from = lost.lastSnapshot ? `the snapshot of turn ${lost.lastSnapshot.turn}` : 'the initial manifest (no snapshot existed)';
    const lostCmds = lost.commandsSinceSnapshot ? ` ${lost.commandsSinceSnapshot} command(s) run since then were lost and may need to be run again.` : '';
    return `[keel] The sandbox host was lost; the workspace was restored from ${from}.${lostCmds}`;
  }

  /** Snapshots /workspace; failures are logged, not fatal (the previous snapshot still stands). */
  async snapshot(turn: number): Promise<void> {
    const session = this.state.sandbox;
    if (!session || session.removed) return;
    try {
      const ref = await onHost(session.taskQueue).snapshotSandbox.executeWithOptions({ summary: `snapshot turn ${turn}` }, [{ session, turn }]);
      session.lastSnapshot = ref;
      session.commandsSinceSnapshot = 0;
      this.state.snapshots.push(ref);
    } catch (err) {
      log.warn('snapshot failed', { error: String(err) });
    }
  }

  /** At run end: snapshot, then remove the container unless the agent keeps it. */
  async close(turn: number, agent: AgentSpec): Promise<void> {
    const session = this.state.sandbox;
    if (!session || session.removed) return;
    await this.snapshot(turn);
    if (agent.sandbox?.keepContainer) return;
    try {
      await onHost(session.taskQueue).destroySandbox.executeWithOptions({ summary: 'sandbox remove' }, [{ session, turn }]);
      session.removed = true;
    } catch (err) {
      log.warn('sandbox removal failed; the reaper will remove it', { error: String(err) });
    }
  }
}

function isHostLost(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START
  );
}
