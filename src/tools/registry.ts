/**
 * The worker's registry of agent definitions, and the AgentSpec snapshot a run is pinned to. Each tool kind
 * builds its own specs (TOOL_KINDS, tools/kinds/); this file puts them together with the rest of the spec.
 */
import { subscribedEvents, type WebhookEndpoint } from '../agents/webhooks.js';
import { DEFAULT_PROVIDER, resolveModelRef, type ModelOption } from '../agents/model-ref.js';
import { createHash } from 'node:crypto';
import { KeelError } from '../errors.js';
import { Agent, SandboxAgent, type RunContext } from '../agents/agent.js';
import { readKeyring, type ApproverKey } from '../agents/approver-keys.js';
import type { Capability, CapabilityResolution, SandboxTool } from '../agents/capabilities.js';
import { defaultModel, defaultSandboxImage } from '../agents/defaults.js';
import type { InputGuardrail, OutputGuardrail } from '../agents/guardrails.js';
import type { AgentSpec, ToolSpec } from '../agents/spec.js';
import type { FunctionTool } from '../agents/tool.js';
import type { AgentTool } from '../agents/agent.js';
import type { Handoff } from '../agents/handoff.js';
import {
  CONSOLIDATOR_AGENT,
  memoryInstructions,
  memorySpecOf,
  type MemoryOptions,
  type MemorySpec,
} from '../agents/memory.js';
import { consolidatorAgent } from '../agents/memory-consolidator.js';
import type { MemoryStore } from '../storage/memory-store.js';
import { networkProblem } from '../sandbox/egress/policy.js';
import type { SandboxNetwork, SandboxTier } from '../sandbox/types.js';
import { tierOf } from '../sandbox/tier-rules.js';
import type { McpToolLister } from '../agents/mcp.js';
import type { HostedTool } from '../agents/hosted-tools.js';
import type { StartedSandbox } from '../sandbox/types.js';
import { refuseGatedCommands } from '../agents/tier-limits.js';
import {
  agentToolsOf,
  capabilitySandboxTool,
  functionToolsOf,
  handoffsOf,
  handoffToolName,
  hostedMcpOf,
  hostedToolsOf,
  jsonSchema,
  sandboxMcpServersOf,
} from './definitions.js';
import { handoffSpecs } from './kinds/handoff.js';
import { hostedConfigs } from './kinds/hosted-mcp.js';
import { TOOL_KINDS } from './kinds/index.js';
import type { SpecContext, ToolLookups } from './kinds/kind.js';
import { sandboxMcpToolSpecs } from './kinds/mcp.js';
import { checkToolChoice, checkToolNames } from './spec-checks.js';

/** A registry built without connections (unit tests, tools that only read specs) lists no server's tools. */
const NO_MCP_CONNECTIONS: McpToolLister = {
  tools: (_agent, server) =>
    Promise.reject(
      new KeelError('bad_usage', `MCP server '${server.name}': this registry was built without MCP connections`),
    ),
};

export interface RegistryOptions {
  /** The worker's MCP connections (shared by resolution and calls); without them, an agent with MCP servers does not resolve. */
  mcp?: McpToolLister;
  /** The API of each of the worker's model providers (`default` at least): hosted tools are an error on `chat`. */
  modelApis?: Record<string, 'responses' | 'chat'>;
  /** The worker's own webhook endpoints (beside each agent's). */
  webhooks?: WebhookEndpoint[];
  /** The worker's sandbox tier when its commands share the sandbox agent's uid (see SandboxClient.sharedUidTier). */
  sharedUidTier?: string;
  /** Whether some worker offers a sandbox tier; an agent asking for one nobody offers is refused. Unset: not checked. */
  tierOffered?: (tier: SandboxTier) => Promise<boolean>;
}

/** The tier whose commands share the sandbox agent's uid (UnixLocalSandboxClient.sharedUidTier). */
const LOCAL_TIER_NAME = 'bubblewrap (local)';

const DEFAULT_REJECTION = 'A human rejected this tool call{reason}. Do not retry it; continue without it or explain.';

/** The spec field, absent when nobody listens (so specs of agents without webhooks hash as before). */
function webhookEventsOf(endpoints: WebhookEndpoint[]): Pick<AgentSpec, 'webhookEvents'> {
  const events = subscribedEvents(endpoints);
  return events.length ? { webhookEvents: events } : {};
}

/** Approver names, and their keys when the agent has any (inline or from a keyring file). */
function approversOf(o: Agent['options']): Pick<AgentSpec, 'approvers' | 'approverKeys'> {
  if (!o.approvers && !o.approverKeyring) return {};
  const keys = [
    ...(o.approvers ?? []).filter((a): a is ApproverKey => typeof a !== 'string'),
    ...(o.approverKeyring ? readKeyring(o.approverKeyring) : []),
  ];
  const names = [
    ...new Set([...(o.approvers ?? []).map((a) => (typeof a === 'string' ? a : a.name)), ...keys.map((k) => k.name)]),
  ];
  return keys.length
    ? { approvers: names, approverKeys: keys.map(({ name, publicKey }) => ({ name, publicKey })) }
    : { approvers: names };
}

/** What the model is told of its sandbox's network, so it does not try what will be refused. */
function networkInstructions(network: SandboxNetwork): string {
  if (network === false) return 'The sandbox has no network access.';
  const allow = network === true ? ['*'] : network.allow;
  if (allow.includes('*'))
    return 'The sandbox reaches public hosts through an HTTP(S) proxy that is already configured; raw IP addresses, private and host addresses are refused.';
  return `The sandbox reaches only these hosts, through an HTTP(S) proxy that is already configured: ${allow.join(', ')}. Other hosts are refused.`;
}

/** The agent's network setting, or one clear error naming the agent when it is malformed. */
function checkedNetwork(agent: string, network: SandboxNetwork | undefined): SandboxNetwork {
  const problem = networkProblem(network);
  if (problem) throw new KeelError('bad_usage', `agent '${agent}': sandbox.${problem}`);
  return network ?? false;
}

/** Agents by name, plus lookups of their tools and guardrails for activities. */
export class AgentRegistry implements ToolLookups {
  private readonly agents = new Map<string, Agent>();

  private readonly mcp: McpToolLister;
  private readonly modelApis: Record<string, 'responses' | 'chat'>;
  private readonly sharedUidTier?: string;
  private readonly tierOffered?: (tier: SandboxTier) => Promise<boolean>;
  private readonly workerWebhooks: WebhookEndpoint[];

  /** `memory` is where memory summaries are read from when an agent has the memory capability. */
  constructor(
    agents: Agent[],
    private readonly memoryStore?: MemoryStore,
    options: RegistryOptions = {},
  ) {
    this.mcp = options.mcp ?? NO_MCP_CONNECTIONS;
    this.modelApis = options.modelApis ?? { [DEFAULT_PROVIDER]: 'responses' };
    this.sharedUidTier = options.sharedUidTier;
    this.tierOffered = options.tierOffered;
    this.workerWebhooks = options.webhooks ?? [];
    for (const agent of agents) this.add(agent);
    // Agents with memory need the consolidation agent to be runnable on the same workers.
    if (agents.some((a) => this.memoryOptions(a))) this.add(consolidatorAgent);
  }

  private add(agent: Agent): void {
    const existing = this.agents.get(agent.name);
    if (existing === agent) return;
    if (existing) throw new KeelError('bad_usage', `two different agents are named '${agent.name}'`);
    this.agents.set(agent.name, agent);
    for (const h of handoffsOf(agent)) if (typeof h.agent !== 'string') this.add(h.agent);
    for (const t of agentToolsOf(agent)) this.add(t.agent);
  }

  /** The handoff of `agentName` whose tool is `toolName`, with the target agent's name. */
  handoff(agentName: string, toolName: string): { handoff: Handoff; target: Agent } | undefined {
    for (const h of handoffsOf(this.get(agentName))) {
      const target = typeof h.agent === 'string' ? this.get(h.agent) : h.agent;
      if ((h.toolName ?? handoffToolName(target.name)) === toolName) return { handoff: h, target };
    }
    return undefined;
  }

  /** The agent tool of `agentName` named `toolName`. */
  agentTool(agentName: string, toolName: string): AgentTool | undefined {
    return agentToolsOf(this.get(agentName)).find((t) => t.name === toolName);
  }

  names(): string[] {
    return [...this.agents.keys()];
  }

  /**
   * Everything of every registered agent where `secret()` references live (manifests, MCP servers, hosted MCP
   * tools), so the vault knows every value to scrub even on a worker that has not resolved them itself yet.
   */
  secretHolders(): unknown[] {
    return [...this.agents.values()].flatMap((a) => [
      (a.options as { manifest?: unknown }).manifest,
      a.options.mcpServers,
      hostedToolsOf(a),
    ]);
  }

  get(name: string): Agent {
    const agent = this.agents.get(name);
    if (!agent) {
      throw new KeelError(
        'agent_not_found',
        `no agent named '${name}' is registered (known: ${this.names().join(', ') || 'none'})`,
      );
    }
    return agent;
  }

  functionTool(agentName: string, toolName: string): FunctionTool | undefined {
    return functionToolsOf(this.get(agentName)).find((t) => t.name === toolName);
  }

  hostedMcp(agentName: string, serverLabel: string): HostedTool | undefined {
    return hostedMcpOf(this.get(agentName), serverLabel);
  }

  /** `spec` with the tools of its agent's MCP servers inside `sandbox`, listed fresh and checked like any resolved spec's. */
  async withSandboxMcpTools(spec: AgentSpec, sandbox: StartedSandbox): Promise<AgentSpec> {
    const listed = await sandboxMcpToolSpecs(this.get(spec.name), this.mcp, sandbox);
    const tools = [...spec.tools.filter((t) => t.kind !== 'mcp' || !t.mcp.inSandbox), ...listed];
    checkToolNames(spec.name, tools);
    checkToolChoice(spec.name, spec.modelSettings.toolChoice, tools, spec.hostedTools ?? []);
    return { ...spec, tools };
  }

  /** A hosted MCP server's headers as defined (literals or env refs), resolved by the model activity. */
  hostedMcpHeaders(agentName: string, serverLabel: string): HostedTool['headers'] {
    return this.hostedMcp(agentName, serverLabel)?.headers;
  }

  /** A sandbox tool implemented by one of the agent's capabilities, with that capability. */
  sandboxTool(agentName: string, toolName: string): { tool: SandboxTool; capability: Capability } | undefined {
    return capabilitySandboxTool(this.get(agentName), toolName);
  }

  inputGuardrail(agentName: string, name: string): InputGuardrail {
    return this.find(this.get(agentName).options.inputGuardrails, name, agentName);
  }

  outputGuardrail(agentName: string, name: string): OutputGuardrail {
    return this.find(this.get(agentName).options.outputGuardrails, name, agentName);
  }

  private find<T extends { name: string }>(list: T[] | undefined, name: string, agent: string): T {
    const found = list?.find((g) => g.name === name);
    if (!found) throw new KeelError('agent_not_found', `agent '${agent}' has no guardrail '${name}'`);
    return found;
  }

  /** Snapshot of an agent for one run: instructions resolved, schemas rendered, version hashed. */
  private memoryOptions(agent: Agent): MemoryOptions | undefined {
    return (agent.options.capabilities ?? []).find((c) => c.memory)?.memory;
  }

  /** The run's memory settings and the summary text for its instructions. */
  private async resolveMemory(
    agent: Agent,
    ctx: RunContext,
  ): Promise<{ spec: MemorySpec; text: string; model?: ModelOption } | undefined> {
    const hasSandbox = agent instanceof SandboxAgent;
    if (agent.name === CONSOLIDATOR_AGENT) {
      const target = (ctx.context as { memory?: { agent: string; scope: string } } | undefined)?.memory;
      if (!target)
        throw new KeelError('bad_usage', `${CONSOLIDATOR_AGENT} runs need context.memory = { agent, scope }`);
      const options = this.memoryOptions(this.get(target.agent)) ?? {};
      const spec = {
        ...memorySpecOf(target.agent, { ...options, scope: target.scope }, ctx),
        mode: 'consolidate' as const,
      };
      return {
        spec,
        text: '',
        model: options.consolidationModel ?? options.model ?? this.get(target.agent).options.model,
      };
    }
    const options = this.memoryOptions(agent);
    if (!options) return undefined;
    const spec = memorySpecOf(agent.name, options, ctx);
    const summary = await this.memoryStore?.read(spec, spec.layout.summary);
    return { spec, text: memoryInstructions(spec, summary, options.summaryTokenCap ?? 1000, hasSandbox) };
  }

  async resolve(name: string, ctx: RunContext): Promise<AgentSpec> {
    const agent = this.get(name);
    const o = agent.options;
    const instructions = typeof o.instructions === 'function' ? await o.instructions(ctx) : o.instructions;
    const capabilities = o.capabilities ?? [];
    const mem = await this.resolveMemory(agent, ctx);
    const resolved = await this.resolveCapabilities(agent, ctx);
    const model = resolveModelRef(name, mem?.model ?? o.model ?? defaultModel(), Object.keys(this.modelApis));
    const specCtx: SpecContext = { agent: (n) => this.get(n), mcp: this.mcp, modelApi: this.modelApis[model.provider] };
    const hosted = hostedConfigs(agent, specCtx.modelApi);
    const tools: ToolSpec[] = [];
    for (const kind of Object.values(TOOL_KINDS)) tools.push(...(await kind.specs(agent, specCtx)));
    checkToolNames(name, tools);
    const sandbox = agent instanceof SandboxAgent ? this.sandboxSpec(agent, resolved) : undefined;
    await this.checkTierOffered(name, sandbox?.tier);
    const sharedUid = sandbox?.tier ? (sandbox.tier === 'local' ? LOCAL_TIER_NAME : undefined) : this.sharedUidTier;
    if (sharedUid) refuseGatedCommands(agent, tools, sharedUid);
    // With MCP servers inside the sandbox, toolChoice may name one of their tools: checked once they are listed.
    if (!sandboxMcpServersOf(agent).length) checkToolChoice(name, o.modelSettings?.toolChoice, tools, hosted);
    const spec: Omit<AgentSpec, 'version'> = {
      name,
      instructions: [
        instructions,
        ...capabilities.flatMap((c, i) => [c.instructions, resolved[i]?.instructions]),
        sandbox && networkInstructions(sandbox.network),
        mem?.text,
      ]
        .filter(Boolean)
        .join('\n\n'),
      model: model.name,
      ...(model.provider !== DEFAULT_PROVIDER ? { modelProvider: model.provider } : {}),
      ...webhookEventsOf(this.webhooksFor(name)),
      memory: mem?.spec,
      ...(o.toolExecution === 'local' ? { toolExecution: 'local' as const } : {}),
      ...(o.conversation ? { conversation: o.conversation === true ? {} : o.conversation } : {}),
      ...(o.budget ? { budget: o.budget } : {}),
      modelSettings: o.modelSettings ?? {},
      tools,
      ...(hosted.length ? { hostedTools: hosted } : {}),
      handoffs: handoffSpecs(agent, specCtx),
      outputSchema: o.outputType ? jsonSchema(o.outputType) : undefined,
      maxTurns: o.maxTurns ?? 10,
      maxConsecutiveToolFailures: o.maxConsecutiveToolFailures ?? 3,
      inputGuardrails: (o.inputGuardrails ?? []).map((g) => ({ name: g.name, mode: g.mode ?? 'parallel' })),
      outputGuardrails: (o.outputGuardrails ?? []).map((g) => g.name),
      ...approversOf(o),
      approvalTimeout: o.approvalTimeout
        ? { ms: o.approvalTimeout.ms, onExpiry: o.approvalTimeout.onExpiry ?? 'reject' }
        : undefined,
      rejectionMessage: o.rejectionMessage ?? DEFAULT_REJECTION,
      capabilities: capabilities.map((c) => c.name),
      compaction: capabilities.find((c) => c.compaction)?.compaction,
      sandbox,
      ...(sandboxMcpServersOf(agent).length ? { sandboxMcpServers: sandboxMcpServersOf(agent) } : {}),
    };
    // The hash covers the definition (including an instructions function's source), not this run's context.
    const definition = {
      ...spec,
      memory: undefined,
      instructions: String(o.instructions),
      capabilityText: capabilities.map((c) => c.instructions),
    };
    const version = 'sha256:' + createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16);
    return { ...spec, version };
  }

  /** The endpoints told about `agent`'s runs: its own, then the worker's. */
  webhooksFor(agent: string): WebhookEndpoint[] {
    return [...(this.get(agent).options.webhooks ?? []), ...this.workerWebhooks];
  }

  /** Runs the capabilities' worker-side `resolve` hooks (in order, aligned with the capabilities). */
  private async resolveCapabilities(agent: Agent, ctx: RunContext): Promise<(CapabilityResolution | undefined)[]> {
    const hasSandbox = agent instanceof SandboxAgent;
    const resolved: (CapabilityResolution | undefined)[] = [];
    for (const c of agent.options.capabilities ?? []) {
      resolved.push(
        c.resolve
          ? await c.resolve({ agent: agent.name, workflowId: ctx.workflowId, context: ctx.context, hasSandbox })
          : undefined,
      );
    }
    return resolved;
  }

  /** An agent asking for a tier no worker offers fails here, at resolution, instead of waiting for a host forever. */
  private async checkTierOffered(agent: string, tier: SandboxTier | undefined): Promise<void> {
    if (!tier || !this.tierOffered || (await this.tierOffered(tier))) return;
    throw new KeelError(
      'bad_usage',
      `agent '${agent}': no worker offers sandbox tier '${tier}' (a worker offers it with createWorker({ sandboxes: { ${tier} } }) or keel worker --sandboxes ${tier})`,
    );
  }

  private sandboxSpec(agent: SandboxAgent, resolved: (CapabilityResolution | undefined)[]) {
    const o = agent.options;
    const { tier, problem } = tierOf(o.sandbox ?? {});
    if (problem) throw new KeelError('bad_usage', `agent '${agent.name}': sandbox.${problem}`);
    const capabilities = o.capabilities ?? [];
    const manifestEntries = Object.assign(
      {},
      ...capabilities.map((c, i) => ({ ...c.manifest, ...resolved[i]?.manifest })),
      o.manifest?.entries ?? {},
    );
    const capabilityData: Record<string, unknown> = {};
    capabilities.forEach((c, i) => {
      if (resolved[i]?.data === undefined) return;
      if (c.name in capabilityData)
        throw new KeelError('bad_usage', `agent '${agent.name}' has two capabilities named '${c.name}' with tool data`);
      capabilityData[c.name] = resolved[i].data;
    });
    return {
      image: o.sandbox?.image ?? defaultSandboxImage(),
      network: checkedNetwork(agent.name, o.sandbox?.network),
      limits: o.sandbox?.limits ?? {},
      ...(o.sandbox?.runtime || tier === 'gvisor'
        ? { runtime: tier === 'gvisor' ? ('runsc' as const) : o.sandbox!.runtime }
        : {}),
      ...(tier ? { tier } : {}),
      keepContainer: o.sandbox?.keepContainer ?? false,
      commandTimeoutMs: o.sandbox?.commandTimeoutMs ?? 60_000,
      manifest: { entries: manifestEntries, env: o.manifest?.env ?? {} },
      ...(Object.keys(capabilityData).length ? { capabilityData } : {}),
      ...(o.runSecrets?.length ? { runSecrets: [...o.runSecrets] } : {}),
    };
  }
}
