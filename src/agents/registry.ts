/**
 * The worker's registry of agent definitions, and the AgentSpec snapshot a run is pinned to.
 */
import { subscribedEvents, type WebhookEndpoint } from './webhooks.js';
import { DEFAULT_PROVIDER, resolveModelRef, type ModelOption } from './model-ref.js';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { KeelError } from '../errors.js';
import { Agent, SandboxAgent, type RunContext } from './agent.js';
import { approvalSpecOf } from './approval.js';
import { readKeyring, type ApproverKey } from './approver-keys.js';
import type { Capability, CapabilityResolution, SandboxTool, SandboxToolName } from './capabilities.js';
import type { InputGuardrail, OutputGuardrail, ToolGuardrail } from './guardrails.js';
import { isSandboxToolName, sandboxToolShape } from '../tools/sandbox/index.js';
import type { AgentSpec, ToolSpec } from './spec.js';
import type { FunctionTool } from './tool.js';
import type { AgentTool } from './agent-tool.js';
import { handoff as plainHandoff, type Handoff } from './handoff.js';
import { CONSOLIDATOR_AGENT, memoryInstructions, memorySpecOf, type MemoryOptions, type MemorySpec } from './memory.js';
import { consolidatorAgent } from './memory-consolidator.js';
import type { MemoryStore } from '../storage/memory-store.js';
import { networkProblem } from '../sandbox/egress/policy.js';
import type { SandboxNetwork, SandboxTier } from '../sandbox/types.js';
import { tierOf } from '../sandbox/tier-rules.js';
import { modelToolName, type McpServer, type McpToolLister } from './mcp.js';
import { hostedApprovalToolName, type HostedTool } from './hosted-tools.js';
import {
  checkToolChoice,
  checkToolNames,
  functionToolsOf,
  hostedMcpOf,
  hostedSpecs,
  hostedToolsOf,
  mcpServerOf,
  mcpToolSpecs,
  sandboxMcpServersOf,
  sandboxMcpToolSpecs,
} from './tool-kinds.js';
import type { StartedSandbox } from '../sandbox/types.js';
import { refuseGatedCommands } from './tier-limits.js';

/** A registry built without connections (unit tests, tools that only read specs) lists no server's tools. */
const NO_MCP_CONNECTIONS: McpToolLister = {
  tools: (_agent, server) => Promise.reject(new KeelError('bad_usage', `MCP server '${server.name}': this registry was built without MCP connections`)),
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

const DEFAULT_TOOL_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_REJECTION = 'A human rejected this tool call{reason}. Do not retry it; continue without it or explain.';

export function defaultModel(): string {
  return process.env.KEEL_MODEL ?? 'gpt-4.1-mini';
}

export function defaultSandboxImage(): string {
  return process.env.KEEL_SANDBOX_IMAGE ?? 'keel-sandbox:latest';
}

export function handoffToolName(agent: string): string {
  return `transfer_to_${agent}`;
}

/** Arguments of an agent tool without a user schema: the sub-agent's input text. */
const AGENT_TOOL_PARAMETERS = {
  type: 'object',
  properties: { input: { type: 'string', description: 'What to ask the agent' } },
  required: ['input'],
  additionalProperties: false,
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return rest;
}

/** Approver names, and their keys when the agent has any (inline or from a keyring file). */
/** The spec field, absent when nobody listens (so specs of agents without webhooks hash as before). */
function webhookEventsOf(endpoints: WebhookEndpoint[]): Pick<AgentSpec, 'webhookEvents'> {
  const events = subscribedEvents(endpoints);
  return events.length ? { webhookEvents: events } : {};
}

function approversOf(o: Agent['options']): Pick<AgentSpec, 'approvers' | 'approverKeys'> {
  if (!o.approvers && !o.approverKeyring) return {};
  const keys = [...(o.approvers ?? []).filter((a): a is ApproverKey => typeof a !== 'string'), ...(o.approverKeyring ? readKeyring(o.approverKeyring) : [])];
  const names = [...new Set([...(o.approvers ?? []).map((a) => (typeof a === 'string' ? a : a.name)), ...keys.map((k) => k.name)])];
  return keys.length ? { approvers: names, approverKeys: keys.map(({ name, publicKey }) => ({ name, publicKey })) } : { approvers: names };
}

/** What the model is told of its sandbox's network, so it does not try what will be refused. */
function networkInstructions(network: SandboxNetwork): string {
  if (network === false) return 'The sandbox has no network access.';
  const allow = network === true ? ['*'] : network.allow;
  if (allow.includes('*')) return 'The sandbox reaches public hosts through an HTTP(S) proxy that is already configured; raw IP addresses, private and host addresses are refused.';
  return `The sandbox reaches only these hosts, through an HTTP(S) proxy that is already configured: ${allow.join(', ')}. Other hosts are refused.`;
}

/** The agent's network setting, or one clear error naming the agent when it is malformed. */
function checkedNetwork(agent: string, network: SandboxNetwork | undefined): SandboxNetwork {
  const problem = networkProblem(network);
  if (problem) throw new KeelError('bad_usage', `agent '${agent}': sandbox.${problem}`);
  return network ?? false;
}

/** Agents by name, plus lookups of their tools and guardrails for activities. */
export class AgentRegistry {
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
    for (const h of this.handoffsOf(agent)) if (typeof h.agent !== 'string') this.add(h.agent);
    for (const t of this.agentToolsOf(agent)) this.add(t.agent);
  }

  /** The agent's handoffs, each as a `Handoff` (a plain agent or name is one without options). */
  private handoffsOf(agent: Agent): Handoff[] {
    return (agent.options.handoffs ?? []).map((h) => (typeof h === 'string' || h instanceof Agent ? plainHandoff(h) : h));
  }

  private agentToolsOf(agent: Agent): AgentTool[] {
    return (agent.options.tools ?? []).filter((t): t is AgentTool => t.kind === 'agent');
  }

  /** The handoff of `agentName` whose tool is `toolName`, with the target agent's name. */
  handoff(agentName: string, toolName: string): { handoff: Handoff; target: Agent } | undefined {
    for (const h of this.handoffsOf(this.get(agentName))) {
      const target = typeof h.agent === 'string' ? this.get(h.agent) : h.agent;
      if ((h.toolName ?? handoffToolName(target.name)) === toolName) return { handoff: h, target };
    }
    return undefined;
  }

  /** The agent tool of `agentName` named `toolName`. */
  agentTool(agentName: string, toolName: string): AgentTool | undefined {
    return this.agentToolsOf(this.get(agentName)).find((t) => t.name === toolName);
  }

  names(): string[] {
    return [...this.agents.keys()];
  }

  /**
   * Everything of every registered agent where `secret()` references live (manifests, MCP servers, hosted MCP
   * tools), so the vault knows every value to scrub even on a worker that has not resolved them itself yet.
   */
  secretHolders(): unknown[] {
    return [...this.agents.values()].flatMap((a) => [(a.options as { manifest?: unknown }).manifest, a.options.mcpServers, hostedToolsOf(a)]);
  }

  get(name: string): Agent {
    const agent = this.agents.get(name);
    if (!agent) {
      throw new KeelError('agent_not_found', `no agent named '${name}' is registered (known: ${this.names().join(', ') || 'none'})`);
    }
    return agent;
  }

  capabilities(name: string): Capability[] {
    return this.get(name).options.capabilities ?? [];
  }

  functionTool(agentName: string, toolName: string): FunctionTool | undefined {
    return functionToolsOf(this.get(agentName)).find((t) => t.name === toolName);
  }

  mcpServer(agentName: string, serverName: string): McpServer | undefined {
    return mcpServerOf(this.get(agentName), serverName);
  }

  hostedMcp(agentName: string, serverLabel: string): HostedTool | undefined {
    return hostedMcpOf(this.get(agentName), serverLabel);
  }

  /** The hosted MCP server whose approval requests go by `toolName` (see hostedApprovalToolName). */
  hostedMcpByToolName(agentName: string, toolName: string): HostedTool | undefined {
    return hostedToolsOf(this.get(agentName)).find((h) => h.config.type === 'mcp' && hostedApprovalToolName(h.config.server_label) === toolName);
  }

  /** The MCP server offering `toolName` (the model's name for it) by its cached tool list, with the server's own name for the tool. */
  async mcpToolByName(agentName: string, toolName: string): Promise<{ server: McpServer; tool: string } | undefined> {
    for (const server of this.get(agentName).options.mcpServers ?? []) {
      if (server.transport === 'stdio' && server.inSandbox) continue; // listed only with its sandbox; calls carry their pin
      const tools = await this.mcp.tools(agentName, server).catch(() => []);
      const found = tools.find((t) => modelToolName(server, t.name) === toolName);
      if (found) return { server, tool: found.name };
    }
    return undefined;
  }

  /** `spec` with the tools of its agent's MCP servers inside `sandbox`, listed fresh and checked like any resolved spec's. */
  async withSandboxMcpTools(spec: AgentSpec, sandbox: StartedSandbox): Promise<AgentSpec> {
    const listed = await sandboxMcpToolSpecs(this.get(spec.name), this.mcp, sandbox);
    const tools = [...spec.tools.filter((t) => !t.mcp?.inSandbox), ...listed];
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
    for (const capability of this.capabilities(agentName)) {
      const tool = capability.sandboxTools?.find((t): t is SandboxTool => typeof t !== 'string' && t.name === toolName);
      if (tool) return { tool, capability };
    }
    return undefined;
  }

  sandboxApproval(agentName: string, toolName: SandboxToolName | (string & {})) {
    for (const c of this.capabilities(agentName)) {
      const setting = c.approvals?.[toolName];
      if (setting !== undefined) return setting;
    }
    return undefined;
  }

  inputGuardrail(agentName: string, name: string): InputGuardrail {
    return this.find(this.get(agentName).options.inputGuardrails, name, agentName);
  }

  outputGuardrail(agentName: string, name: string): OutputGuardrail {
    return this.find(this.get(agentName).options.outputGuardrails, name, agentName);
  }

  toolGuardrail(agentName: string, toolName: string, name: string): ToolGuardrail {
    const t = this.functionTool(agentName, toolName);
    return this.find([...(t?.inputGuardrails ?? []), ...(t?.outputGuardrails ?? [])], name, agentName);
  }

  /** The guardrails of the capability that contributes sandbox tool `toolName`. */
  sandboxToolGuardrails(agentName: string, toolName: string): { input: ToolGuardrail[]; output: ToolGuardrail[] } {
    const owner = this.capabilities(agentName).find((c) => (c.sandboxTools ?? []).some((t) => (typeof t === 'string' ? t : t.name) === toolName));
    return { input: owner?.toolGuardrails?.input ?? [], output: owner?.toolGuardrails?.output ?? [] };
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
  private async resolveMemory(agent: Agent, ctx: RunContext): Promise<{ spec: MemorySpec; text: string; model?: ModelOption } | undefined> {
    const hasSandbox = agent instanceof SandboxAgent;
    if (agent.name === CONSOLIDATOR_AGENT) {
      const target = (ctx.context as { memory?: { agent: string; scope: string } } | undefined)?.memory;
      if (!target) throw new KeelError('bad_usage', `${CONSOLIDATOR_AGENT} runs need context.memory = { agent, scope }`);
      const options = this.memoryOptions(this.get(target.agent)) ?? {};
      const spec = { ...memorySpecOf(target.agent, { ...options, scope: target.scope }, ctx), mode: 'consolidate' as const };
      return { spec, text: '', model: options.consolidationModel ?? options.model ?? this.get(target.agent).options.model };
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
    const hosted = hostedSpecs(agent, this.modelApis[model.provider]);
    const tools = [
      ...this.functionToolSpecs(agent),
      ...this.agentToolSpecs(agent),
      ...this.sandboxToolSpecs(agent),
      ...(await mcpToolSpecs(agent, this.mcp)),
      ...hosted.approvals,
      ...this.handoffToolSpecs(agent),
    ];
    checkToolNames(name, tools);
    const sandbox = agent instanceof SandboxAgent ? this.sandboxSpec(agent, resolved) : undefined;
    await this.checkTierOffered(name, sandbox?.tier);
    const sharedUid = sandbox?.tier ? (sandbox.tier === 'local' ? LOCAL_TIER_NAME : undefined) : this.sharedUidTier;
    if (sharedUid) refuseGatedCommands(agent, tools, sharedUid);
    // With MCP servers inside the sandbox, toolChoice may name one of their tools: checked once they are listed.
    if (!sandboxMcpServersOf(agent).length) checkToolChoice(name, o.modelSettings?.toolChoice, tools, hosted.configs);
    const spec: Omit<AgentSpec, 'version'> = {
      name,
      instructions: [instructions, ...capabilities.flatMap((c, i) => [c.instructions, resolved[i]?.instructions]), sandbox && networkInstructions(sandbox.network), mem?.text]
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
      ...(hosted.configs.length ? { hostedTools: hosted.configs } : {}),
      handoffs: this.handoffSpecs(agent),
      outputSchema: o.outputType ? jsonSchema(o.outputType) : undefined,
      maxTurns: o.maxTurns ?? 10,
      maxConsecutiveToolFailures: o.maxConsecutiveToolFailures ?? 3,
      inputGuardrails: (o.inputGuardrails ?? []).map((g) => ({ name: g.name, mode: g.mode ?? 'parallel' })),
      outputGuardrails: (o.outputGuardrails ?? []).map((g) => g.name),
      ...approversOf(o),
      approvalTimeout: o.approvalTimeout ? { ms: o.approvalTimeout.ms, onExpiry: o.approvalTimeout.onExpiry ?? 'reject' } : undefined,
      rejectionMessage: o.rejectionMessage ?? DEFAULT_REJECTION,
      capabilities: capabilities.map((c) => c.name),
      compaction: capabilities.find((c) => c.compaction)?.compaction,
      sandbox,
      ...(sandboxMcpServersOf(agent).length ? { sandboxMcpServers: sandboxMcpServersOf(agent) } : {}),
    };
    // The hash covers the definition (including an instructions function's source), not this run's context.
    const definition = { ...spec, memory: undefined, instructions: String(o.instructions), capabilityText: capabilities.map((c) => c.instructions) };
    const version = 'sha256:' + createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16);
    return { ...spec, version };
  }

  /** The endpoints told about `agent`'s runs: its own, then the worker's. */
  webhooksFor(agent: string): WebhookEndpoint[] {
    return [...(this.get(agent).options.webhooks ?? []), ...this.workerWebhooks];
  }

  private functionToolSpecs(agent: Agent): ToolSpec[] {
    return functionToolsOf(agent).map((t) => ({
      name: t.name,
      description: t.description,
      parameters: jsonSchema(t.parameters),
      kind: 'function',
      approval: approvalSpecOf(t.needsApproval as never),
      timeoutMs: t.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      guardrails: {
        input: (t.inputGuardrails ?? []).map((g) => g.name),
        output: (t.outputGuardrails ?? []).map((g) => g.name),
      },
    }));
  }

  /** Runs the capabilities' worker-side `resolve` hooks (in order, aligned with the capabilities). */
  private async resolveCapabilities(agent: Agent, ctx: RunContext): Promise<(CapabilityResolution | undefined)[]> {
    const hasSandbox = agent instanceof SandboxAgent;
    const resolved: (CapabilityResolution | undefined)[] = [];
    for (const c of agent.options.capabilities ?? []) {
      resolved.push(c.resolve ? await c.resolve({ agent: agent.name, workflowId: ctx.workflowId, context: ctx.context, hasSandbox }) : undefined);
    }
    return resolved;
  }

  private sandboxToolSpecs(agent: Agent): ToolSpec[] {
    if (!(agent instanceof SandboxAgent)) return [];
    const timeout = agent.options.sandbox?.commandTimeoutMs ?? 60_000;
    const specs = new Map<string, ToolSpec>();
    for (const c of agent.options.capabilities ?? []) {
      for (const t of c.sandboxTools ?? []) {
        const name = typeof t === 'string' ? t : t.name;
        if (specs.has(name)) {
          if (typeof t === 'string' && !this.sandboxTool(agent.name, name)) continue; // a built-in listed twice
          throw new KeelError('bad_usage', `agent '${agent.name}': two capabilities contribute a sandbox tool named '${name}'`);
        }
        if (typeof t !== 'string' && isSandboxToolName(name)) {
          throw new KeelError('bad_usage', `capability '${c.name}' defines sandbox tool '${name}', which is the name of a built-in tool`);
        }
        const shape = typeof t === 'string' ? sandboxToolShape(t, timeout) : { ...t, timeoutMs: t.timeoutMs ?? timeout };
        specs.set(name, {
          name,
          description: shape.description,
          parameters: jsonSchema(shape.parameters),
          kind: 'sandbox',
          approval: approvalSpecOf(this.sandboxApproval(agent.name, name) as never),
          timeoutMs: shape.timeoutMs,
          guardrails: {
            input: (c.toolGuardrails?.input ?? []).map((g) => g.name),
            output: (c.toolGuardrails?.output ?? []).map((g) => g.name),
          },
        });
      }
    }
    return [...specs.values()];
  }

  /** Each call starts the sub-agent as a child run; the child's run has its own limits, so no tool timeout. */
  private agentToolSpecs(agent: Agent): ToolSpec[] {
    return this.agentToolsOf(agent).map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.input ? jsonSchema(t.input) : AGENT_TOOL_PARAMETERS,
      kind: 'agent',
      approval: approvalSpecOf(t.needsApproval as never),
      timeoutMs: 0,
      guardrails: { input: [], output: [] },
      agent: { name: t.agent.name, customInput: Boolean(t.input), ...(t.maxTurns ? { maxTurns: t.maxTurns } : {}) },
    }));
  }

  private handoffSpecs(agent: Agent): AgentSpec['handoffs'] {
    return this.handoffsOf(agent).map((h) => {
      const target = typeof h.agent === 'string' ? this.get(h.agent) : h.agent;
      const prepare = { input: Boolean(h.inputType), hook: Boolean(h.onHandoff), filter: Boolean(h.inputFilter) };
      return {
        agent: target.name,
        toolName: h.toolName ?? handoffToolName(target.name),
        description: h.description ?? target.options.handoffDescription ?? `Transfer the conversation to the ${target.name} agent.`,
        // Absent for plain handoffs, so their specs (and versions) are what they were before handoff options existed.
        ...(prepare.input || prepare.hook || prepare.filter ? { prepare } : {}),
      };
    });
  }

  private handoffToolSpecs(agent: Agent): ToolSpec[] {
    return this.handoffSpecs(agent).map((h) => {
      const inputType = this.handoff(agent.name, h.toolName)?.handoff.inputType;
      return {
        name: h.toolName,
        description: h.description,
        parameters: inputType ? jsonSchema(inputType) : { type: 'object', properties: {}, additionalProperties: false },
        kind: 'handoff',
        approval: { mode: 'never' },
        timeoutMs: 0,
        guardrails: { input: [], output: [] },
      };
    });
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
      if (c.name in capabilityData) throw new KeelError('bad_usage', `agent '${agent.name}' has two capabilities named '${c.name}' with tool data`);
      capabilityData[c.name] = resolved[i].data;
    });
    return {
      image: o.sandbox?.image ?? defaultSandboxImage(),
      network: checkedNetwork(agent.name, o.sandbox?.network),
      limits: o.sandbox?.limits ?? {},
      ...(o.sandbox?.runtime || tier === 'gvisor' ? { runtime: tier === 'gvisor' ? ('runsc' as const) : o.sandbox!.runtime } : {}),
      ...(tier ? { tier } : {}),
      keepContainer: o.sandbox?.keepContainer ?? false,
      commandTimeoutMs: o.sandbox?.commandTimeoutMs ?? 60_000,
      manifest: { entries: manifestEntries, env: o.manifest?.env ?? {} },
      ...(Object.keys(capabilityData).length ? { capabilityData } : {}),
      ...(o.runSecrets?.length ? { runSecrets: [...o.runSecrets] } : {}),
    };
  }
}
