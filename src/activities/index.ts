/**
 * `createActivities(deps)`: every activity the workflows call, built over explicit dependencies so tests can
 * pass real or fake clients without module mocking. Wired in worker.ts.
 */
import type { AgentRegistry } from '../tools/registry.js';
import type { SandboxClient, SnapshotLimits, SnapshotStore } from '../sandbox/types.js';
import { SandboxSlots } from '../sandbox/slots.js';
import type { DeltaBroker } from '../live/broker.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { MemoryStore } from '../storage/memory-store.js';
import { memoryActivities } from './memory.js';
import { webhookActivities } from './webhooks.js';
import { multiAgentActivities } from './multi-agent.js';
import { withFailureMapping } from './failures.js';
import { retrySettingsFromEnv, type RetrySettings } from './retry-policy.js';
import { guardrailActivities } from './guardrails.js';
import { createModelRequest, modelActivities } from './model.js';
import type { ModelProviders } from './model-providers.js';
import { DEFAULT_PRICES, type PriceTable } from './prices.js';
import { sandboxActivities } from './sandbox.js';
import { sandboxMcpActivities } from './sandbox-mcp.js';
import { approvalSettingByKind, runToolByKind } from '../tools/kinds/index.js';
import type { ToolDeps } from '../tools/kinds/kind.js';
import { offload } from './text.js';
import { PinnedSpecs } from './pinned-specs.js';
import type { CheckApprovalInput, RunToolInput, RunToolResult } from './types.js';
import { SecretVault, type SecretsProvider } from './secrets.js';
import type { McpConnections } from './mcp-connections.js';
import { verifyDecision, type ApproverKey, type SignedCall } from '../agents/approver-keys.js';
import type { DecideInput } from '../workflows/messages.js';
import type { Client } from '@temporalio/client';
import { runWorkspaceActivities } from './run-workspace.js';

export interface ActivityDeps {
  registry: AgentRegistry;
  /** The worker's MCP connections, the same the registry was given. */
  mcp: McpConnections;
  /** Model endpoints by name (`default` always). */
  providers: ModelProviders;
  /** Redis broker for token deltas (KEEL_REDIS_URL); without one, model calls do not stream. */
  broker?: DeltaBroker;
  blobs: BlobStore;
  /** Absent on workers without Docker: their sandbox activities fail with one clear error. */
  sandboxes?: SandboxClient;
  /** This host's cap on live sandboxes (clients that can count them); more creations wait in line. Default: none. */
  maxSandboxes?: number;
  snapshots: SnapshotStore;
  memory: MemoryStore;
  hostQueue: string;
  hostName: string;
  /** The Temporal namespace's id, labelled on sandboxes so only this namespace's reapers judge them. */
  sandboxScope?: string;
  maxToolOutputBytes?: number;
  /** Where `secret()` references are looked up; default the worker's environment. */
  secrets?: SecretsProvider;
  /** The vault to resolve and scrub secrets with; one per worker when it builds activities per sandbox tier. */
  vault?: SecretVault;
  /** How long failing model calls and transient Keel errors are retried (default: KEEL_MODEL_RETRY_* or 1 h). */
  retry?: RetrySettings;
  /** Caps on one workspace snapshot (default: KEEL_SNAPSHOT_MAX_* or DEFAULT_SNAPSHOT_LIMITS). */
  snapshotLimits?: Partial<SnapshotLimits>;
  /** Model prices (USD per 1M tokens) over DEFAULT_PRICES; a model in neither is counted in tokens and flagged `unpriced`. */
  prices?: PriceTable;
  /** Roots a run's workspace may copy local directories from (`createWorker({ localDirs })`); none by default. */
  localDirs?: readonly string[];
  /** Reads other runs' state (a `fromSnapshot` start checks the source run's tenant); absent: such starts fail. */
  runs?: Client;
}

export function createActivities(deps: ActivityDeps) {
  const maxToolOutputBytes = deps.maxToolOutputBytes ?? 32 * 1024;
  const vault = deps.vault ?? new SecretVault(deps.secrets);
  // MCP connections resolve `secret()` headers and env through this vault, so their values are scrubbed too.
  deps.mcp.vault = vault;
  const retry = deps.retry ?? retrySettingsFromEnv();
  const specs = new PinnedSpecs(deps.blobs);
  const prices = { ...DEFAULT_PRICES, ...deps.prices };
  const model = modelActivities({ ...deps, specs, vault, prices });
  const guardrails = guardrailActivities(deps);
  const memory = memoryActivities({ ...deps, request: createModelRequest({ ...deps, specs, vault, prices }) });
  const toolDeps: ToolDeps = { registry: deps.registry, mcp: deps.mcp, blobs: deps.blobs, maxToolOutputBytes, vault };
  const sandbox = deps.sandboxes
    ? sandboxActivities({
        ...deps,
        sandboxes: deps.sandboxes,
        maxToolOutputBytes,
        scope: deps.sandboxScope,
        vault,
        slots: slotsFor(deps.sandboxes, deps.maxSandboxes),
      })
    : undefined;
  const needSandbox = (): NonNullable<typeof sandbox> => {
    if (!sandbox) throw new Error('this worker has no sandbox client (Docker is not available to it)');
    return sandbox;
  };

  const activities = {
    async resolveAgent(input: { agent: string; workflowId: string; context?: unknown }) {
      return specs.pin(
        await deps.registry.resolve(input.agent, {
          agent: input.agent,
          workflowId: input.workflowId,
          context: input.context,
        }),
      );
    },
    callModel: model.callModel,
    compactConversation: model.compactConversation,
    async runTool(input: RunToolInput): Promise<RunToolResult> {
      let result: RunToolResult;
      try {
        // Calls routed to the sandbox's host attach to it first; the others run by their kind here.
        result = input.sandbox ? await needSandbox().runSandboxTool(input) : await runToolByKind(input, toolDeps);
      } catch (err) {
        await vault.learn(deps.registry.secretHolders());
        throw vault.redactError(err);
      }
      // Every path scrubbed its output already; this also covers what guardrails said (their info may quote it).
      result = vault.redactDeep(result);
      const { text, blob } = await offload(result.output, deps.blobs);
      return { ...result, output: text, ...(blob ? { blob } : {}) };
    },
    async checkApproval(input: CheckApprovalInput): Promise<boolean> {
      const setting = await approvalSettingByKind(input, toolDeps);
      if (typeof setting !== 'function') return Boolean(setting);
      let args: unknown;
      try {
        args = JSON.parse(input.arguments);
      } catch {
        return true; // unparseable arguments will fail validation anyway; asking costs nothing
      }
      return setting(args as never, { agent: input.agent, callId: input.callId, context: input.context });
    },
    /** Checks a signed approval decision against the agent's approver keys (workflow code has no crypto). */
    async verifyApproval(input: { runId: string; keys: ApproverKey[]; decision: DecideInput; call: SignedCall }) {
      const d = input.decision;
      const fields = {
        runId: input.runId,
        ...input.call,
        callId: d.callId,
        decision: d.decision,
        approver: d.approver,
        reason: d.reason,
        always: d.always,
        time: d.signature?.time ?? '',
        extendTokens: d.extendTokens,
        extendUsd: d.extendUsd,
      };
      return verifyDecision(fields, d.signature?.value, input.keys);
    },
    ...memory,
    ...webhookActivities({ registry: deps.registry, vault }),
    ...multiAgentActivities(deps),
    runInputGuardrails: guardrails.runInputGuardrails,
    runOutputGuardrails: guardrails.runOutputGuardrails,
    ...sandboxMcpActivities({ ...deps, specs }),
    ...runWorkspaceActivities({ vault, snapshots: deps.snapshots, runs: deps.runs, localDirs: deps.localDirs }),
    createSandbox: (input: Parameters<NonNullable<typeof sandbox>['createSandbox']>[0]) =>
      needSandbox().createSandbox(input),
    snapshotSandbox: (input: Parameters<NonNullable<typeof sandbox>['snapshotSandbox']>[0]) =>
      needSandbox().snapshotSandbox(input),
    keepSandbox: (input: Parameters<NonNullable<typeof sandbox>['keepSandbox']>[0]) => needSandbox().keepSandbox(input),
    destroySandbox: (input: Parameters<NonNullable<typeof sandbox>['destroySandbox']>[0]) =>
      needSandbox().destroySandbox(input),
  };
  return Object.fromEntries(
    Object.entries(activities).map(([k, fn]) => [k, withFailureMapping(fn as never, retry)]),
  ) as typeof activities;
}

/** The host's sandbox cap, counted on the engine; none when no cap is set or the client cannot count. */
function slotsFor(sandboxes: SandboxClient, max: number | undefined): SandboxSlots | undefined {
  const count = sandboxes.countLive?.bind(sandboxes);
  return max !== undefined && count ? new SandboxSlots(max, count) : undefined;
}
