/**
 * Sandbox activities: create a run's container (from the manifest or a snapshot), run tool calls against it (by
 * their kind: tools/kinds/; the built-in sandbox tools here), snapshot and remove it. They run on the
 * worker-specific queue of the host that owns the container, except `createSandbox`, which runs on whichever
 * worker picks it up and returns that worker's queue.
 */
import { Context } from '@temporalio/activity';
import type { SandboxSpec } from '../agents/spec.js';
import { SandboxError } from '../errors.js';
import { renderFileTree } from '../sandbox/file-tree.js';
import type { SandboxSlot, SandboxSlots } from '../sandbox/slots.js';
import type {
  SandboxClient,
  SandboxCreateOptions,
  SnapshotLimits,
  SnapshotStore,
  StartedSandbox,
} from '../sandbox/types.js';
import { snapshotLimits, snapshotWorkspace } from '../sandbox/workspace-snapshot.js';
import type { BlobStore } from '../storage/blob-store.js';
import { restoredNotice, type SandboxSession, type SnapshotRef } from '../workflows/run-state.js';
import { materializeManifest } from './manifest.js';
import type { SecretVault } from './secrets.js';
import { runCapabilitySandboxTool } from './capability-tools.js';
import type { AgentRegistry } from '../tools/registry.js';
import type { McpConnections } from './mcp-connections.js';
import { mountMemory } from './memory.js';
import type { MemoryStore } from '../storage/memory-store.js';
import { crashPoint } from './crash-point.js';
import { parseToolArguments } from '../tools/call.js';
import { runToolByKind } from '../tools/kinds/index.js';
import type { ToolDeps, ToolLookups } from '../tools/kinds/kind.js';
import { SandboxAgent } from '../agents/agent.js';
import { errorResult, finishOutput } from '../tools/output.js';
import type { CreateSandboxInput, RunToolInput, RunToolResult, SnapshotSandboxInput } from './types.js';
import { keelFailure } from '../failures.js';
import { sandboxToolNamed, type AnySandboxTool } from '../tools/sandbox/index.js';

export interface SandboxDeps {
  sandboxes: SandboxClient;
  snapshots: SnapshotStore;
  memory: MemoryStore;
  blobs: BlobStore;
  /** Finds the definitions of the tools a call names (sandbox tools of capabilities, MCP servers, guardrails). */
  registry?: AgentRegistry;
  /** The worker's MCP connections: MCP servers inside a sandbox are reached and stopped through them. */
  mcp?: McpConnections;
  /** This worker's own task queue, where activities against its containers go. */
  hostQueue: string;
  hostName: string;
  maxToolOutputBytes: number;
  /** Labels this worker's sandboxes as its namespace's (see SandboxLabels.scope). */
  scope?: string;
  /** Resolves `secret()` references and scrubs their values from outputs and snapshots. */
  vault: SecretVault;
  /** This host's cap on live sandboxes; absent: no cap. */
  slots?: SandboxSlots;
  /** Caps on one snapshot; default KEEL_SNAPSHOT_MAX_* or DEFAULT_SNAPSHOT_LIMITS. */
  snapshotLimits?: Partial<SnapshotLimits>;
  /** Roots a run's own `localDir` entries may name (`createWorker({ localDirs })`). */
  localDirs?: readonly string[];
}

/** Without a registry (the sandbox activities alone) an agent has the built-in sandbox tools only, unguarded. */
const NO_AGENTS: ToolLookups = { get: (name) => new SandboxAgent({ name, instructions: '' }), secretHolders: () => [] };
const noMcp = () => Promise.reject(new Error('this worker has no MCP connections'));
const NO_MCP: ToolDeps['mcp'] = { tools: noMcp, call: noMcp };

/** A snapshot over a cap fails the same way every attempt: one clear, non-retryable failure. */
function snapshotCapFailure(err: unknown): unknown {
  if (!(err instanceof SandboxError) || err.code !== 'too_large') return err;
  return keelFailure('SnapshotLimit', err.message);
}

/** Runs `fn` while heartbeating every second, so a long wait or restore is not taken for a dead worker. */
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 1_000);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

async function workspaceTree(sandbox: StartedSandbox): Promise<string> {
  const r = await sandbox.exec({
    cmd: "find . -mindepth 1 -maxdepth 4 -not -path '*/.git/*' -printf '%y %P\\n' | head -n 400",
    timeoutMs: 15_000,
  });
  const entries = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => ({ path: line.slice(2), type: line.startsWith('d') ? ('dir' as const) : ('file' as const) }));
  return renderFileTree(entries);
}

/**
 * A built-in tool's call (src/tools/sandbox/): the arguments checked against its schema, its handler, and whether
 * the call changed the workspace (`changed`, which the run counts towards its next snapshot).
 */
async function runBuiltinTool(
  tool: AnySandboxTool,
  sandbox: StartedSandbox,
  input: RunToolInput,
  args: string,
  deps: Pick<SandboxDeps, 'blobs' | 'maxToolOutputBytes'>,
): Promise<RunToolResult> {
  const parsed = parseToolArguments<unknown>(tool.name, tool.parameters, args);
  if (!parsed.ok) return parsed.result;
  const ctx = Context.current();
  const out = await tool.run(parsed.data, {
    sandbox,
    workflowId: input.workflowId,
    callId: input.call.callId,
    commandTimeoutMs: input.sandboxSpec?.commandTimeoutMs,
    blobs: deps.blobs,
    maxToolOutputBytes: deps.maxToolOutputBytes,
    heartbeat: () => ctx.heartbeat(),
    signal: ctx.cancellationSignal,
  });
  if (out.executed) crashPoint('after-exec'); // tests: die after the command ran, before its result is reported
  return { isError: false, ...out, guardrails: [], changed: tool.changesWorkspace(out) };
}

export function sandboxActivities(deps: SandboxDeps) {
  const limits = snapshotLimits(deps.snapshotLimits);
  const toolDeps: ToolDeps = {
    registry: deps.registry ?? NO_AGENTS,
    mcp: deps.mcp ?? NO_MCP,
    blobs: deps.blobs,
    maxToolOutputBytes: deps.maxToolOutputBytes,
    vault: deps.vault,
  };
  async function createOptions(input: CreateSandboxInput): Promise<SandboxCreateOptions> {
    return {
      image: input.spec.image,
      labels: { workflowId: input.workflowId, runId: input.runId, scope: deps.scope },
      env: await deps.vault.resolveEnv(input.spec.manifest.env),
      network: input.spec.network,
      limits: input.spec.limits,
      runtime: input.spec.runtime,
    };
  }

  /** A slot on this host for one more sandbox: at once, or after waiting in line (or a SandboxHostFull failure). */
  async function slot(ifFull: CreateSandboxInput['ifFull']): Promise<SandboxSlot | undefined> {
    if (!deps.slots) return undefined;
    if (ifFull !== 'fail') return deps.slots.take({ signal: Context.current().cancellationSignal });
    const taken = await deps.slots.tryTake();
    if (taken) return taken;
    const message = `host ${deps.hostName} has no free sandbox slot (${deps.slots.max} live)`;
    throw keelFailure('SandboxHostFull', message);
  }

  /** A new container; it holds a slot until it runs (from then on the engine counts it). */
  async function createContainer(input: CreateSandboxInput): Promise<StartedSandbox> {
    const taken = await slot(input.ifFull);
    try {
      return await deps.sandboxes.create(await createOptions(input));
    } finally {
      taken?.release();
    }
  }

  async function start(input: CreateSandboxInput): Promise<{ sandbox: StartedSandbox; session: SandboxSession }> {
    const sandbox = await createContainer(input);
    try {
      const materialize = { vault: deps.vault, localDirs: deps.localDirs };
      if (input.restoreSnapshot) await sandbox.putArchive(await deps.snapshots.get(input.restoreSnapshot));
      else await materializeManifest(sandbox, input.spec.manifest, materialize);
      // A run that starts from a snapshot gets its own workspace entries on top of it (only at its start).
      if (input.overlay) await materializeManifest(sandbox, { entries: input.overlay }, materialize);
      if (input.memory && !input.restoreSnapshot) await mountMemory(sandbox, deps.memory, input.memory);
      const session: SandboxSession = {
        containerId: sandbox.id,
        taskQueue: deps.hostQueue,
        host: deps.hostName,
        image: input.spec.image,
        workspaceTree: await workspaceTree(sandbox),
        commandsSinceSnapshot: 0,
        removed: false,
      };
      if (input.startSnapshot) Object.assign(session, await startSnapshot(sandbox, input.startSnapshot.turn));
      return { sandbox, session };
    } catch (err) {
      await sandbox.remove();
      throw err;
    }
  }

  /** The workspace into the snapshot store, secrets masked. */
  async function takeSnapshot(sandbox: StartedSandbox, turn: number): Promise<SnapshotRef> {
    await deps.vault.learn(deps.registry?.secretHolders());
    const info = await snapshotWorkspace(sandbox, deps.snapshots, limits, (tar) => deps.vault.mask(tar));
    return { ...info, turn, at: new Date().toISOString() };
  }

  /** The workspace as materialized (the base of `keel diff`); a failure is kept in the session, not fatal. */
  async function startSnapshot(
    sandbox: StartedSandbox,
    turn: number,
  ): Promise<Pick<SandboxSession, 'startSnapshot' | 'snapshotFailure'>> {
    try {
      return { startSnapshot: await takeSnapshot(sandbox, turn) };
    } catch (err) {
      return { snapshotFailure: { turn, message: err instanceof Error ? err.message : String(err) } };
    }
  }

  /**
   * The live container of a session, or a new one restored from its last snapshot when it was lost (removed, or
   * stopped by an engine restart: then it is removed, as nothing can use it again).
   */
  async function attachOrRestore(
    input: RunToolInput,
  ): Promise<{ sandbox: StartedSandbox; session?: SandboxSession; notice?: string }> {
    const session = input.sandbox!;
    const live = await deps.sandboxes.attach(session.containerId);
    if (live) return { sandbox: live };
    await discard(session.containerId);
    const restored = await start({
      workflowId: input.workflowId,
      runId: Context.current().info.workflowExecution?.runId ?? '',
      spec: input.sandboxSpec as SandboxSpec,
      restoreSnapshot: session.lastSnapshot?.id,
    });
    return {
      sandbox: restored.sandbox,
      session: { ...restored.session, lastSnapshot: session.lastSnapshot },
      notice: restoredNotice('container', session),
    };
  }

  /**
   * Runs `fn`, and again every second while the engine does not answer at all (it restarts), until it does or the
   * activity ends: one attempt outlasts an engine restart instead of spending the activity's few retries on it.
   */
  async function whenEngineAnswers<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        const unavailable = err instanceof SandboxError && err.code === 'sandbox_unavailable';
        if (!unavailable || !deps.sandboxes.engineAnswers || (await deps.sandboxes.engineAnswers())) throw err;
      }
      await Context.current().sleep(1_000); // rejects when the activity is cancelled
    }
  }

  /** Removes a lost container (best effort: the reaper removes what this leaves) and frees its slot. */
  async function discard(containerId: string): Promise<void> {
    await deps.sandboxes
      .discard?.(containerId)
      .catch((err: unknown) => console.warn(`keel: removing lost sandbox ${containerId}: ${String(err)}`));
    deps.slots?.freed();
  }

  async function runSandboxTool(sandbox: StartedSandbox, input: RunToolInput, args: string): Promise<RunToolResult> {
    const name = input.call.name;
    const capabilityTool = deps.registry?.sandboxTool(input.agent, name);
    if (capabilityTool) return runCapabilitySandboxTool(sandbox, input, args, capabilityTool);
    const builtin = sandboxToolNamed(name);
    if (!builtin) return errorResult(`Error: there is no sandbox tool named '${name}'.`);
    return runBuiltinTool(builtin, sandbox, input, args, deps);
  }

  return {
    async createSandbox(input: CreateSandboxInput): Promise<SandboxSession> {
      // Waiting for a slot, for the engine, or restoring takes a while: heartbeats say the worker lives.
      return (await heartbeating(() => whenEngineAnswers(() => start(input)))).session;
    },

    async runSandboxTool(input: RunToolInput): Promise<RunToolResult> {
      // A command cut off by an engine restart runs again once the engine is back, on the restored workspace.
      const { session, notice, result } = await heartbeating(() =>
        whenEngineAnswers(async () => {
          const { sandbox, session, notice } = await attachOrRestore(input);
          // Once attached, the call runs by its kind (a sandbox tool, or a tool of an MCP server inside the sandbox).
          const result = await runToolByKind(input, toolDeps, { sandbox, runSandboxTool });
          return { session, notice, result };
        }),
      );
      await deps.vault.learn(input.sandboxSpec?.manifest); // a restarted worker still knows this run's secrets
      const output = await finishOutput(
        notice ? `${notice}\n${result.output}` : result.output,
        deps,
        deps.maxToolOutputBytes * 2,
      );
      return { ...result, output, ...(session ? { sandbox: session } : {}) };
    },

    async snapshotSandbox(input: SnapshotSandboxInput): Promise<SnapshotRef> {
      const sandbox = await deps.sandboxes.attach(input.session.containerId);
      if (!sandbox) {
        throw keelFailure('SandboxGone', `container ${input.session.containerId} is gone`);
      }
      const ctx = Context.current();
      const heartbeat = setInterval(() => ctx.heartbeat(), 2_000); // a large workspace takes a while to export
      try {
        return await takeSnapshot(sandbox, input.turn);
      } catch (err) {
        throw snapshotCapFailure(err);
      } finally {
        clearInterval(heartbeat);
      }
    },

    /** Marks the run's container as kept (named, skipped by the reaper); its name, or undefined where kept as is. */
    async keepSandbox(input: SnapshotSandboxInput): Promise<string | undefined> {
      const sandbox = await deps.sandboxes.attach(input.session.containerId);
      if (!sandbox) {
        throw keelFailure('SandboxGone', `container ${input.session.containerId} is gone`);
      }
      return deps.sandboxes.keep?.(input.session.containerId);
    },

    async destroySandbox(input: SnapshotSandboxInput): Promise<void> {
      await deps.mcp?.closeSandbox(input.session.containerId); // stops the MCP servers inside it first
      const sandbox = await deps.sandboxes.attach(input.session.containerId);
      if (sandbox) await sandbox.remove();
      else await deps.sandboxes.discard?.(input.session.containerId); // stopped (an engine restart): still there
      deps.slots?.freed();
    },
  };
}
