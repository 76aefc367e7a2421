/**
 * Agent definitions: user code, registered with the worker. A run never sees these objects directly; it sees
 * the AgentSpec snapshot that `resolveAgent` makes of them (spec.ts), pinned in the run's history.
 */
import type { WebhookEndpoint } from './webhooks.js';
import { budgetProblem, type Budget } from './budget.js';
import type { ModelOption } from './model-ref.js';
import type { ConversationOptions } from './spec.js';
import type { z } from 'zod';
import type { ApproverKey } from './approver-keys.js';
import type { Capability } from './capabilities.js';
import type { InputGuardrail, OutputGuardrail } from './guardrails.js';
import type { Manifest } from './manifest.js';
import type { FunctionTool } from './tool.js';
import type { HostedTool } from './hosted-tools.js';
import type { McpServer } from './mcp.js';
import type { ApprovalSetting } from './approval.js';
import type { RunItem } from '../workflows/run-state.js';
import type { SandboxLimits, SandboxNetwork, SandboxRuntime, SandboxTier } from '../sandbox/types.js';
import type { ApprovalTimeout, ModelSettings, RunContext } from './settings.js';
export type { ApprovalTimeout, ModelSettings, RunContext } from './settings.js';

export interface AgentOptions {
  name: string;
  instructions: string | ((ctx: RunContext) => string | Promise<string>);
  /**
   * Model name, on the worker's `default` provider; `'local:qwen2.5-coder'` or `{ provider, name }` names another of
   * the worker's providers (`createWorker({ models })`, `KEEL_MODELS`). Defaults to KEEL_MODEL, then 'gpt-4.1-mini'.
   */
  model?: ModelOption;
  modelSettings?: ModelSettings;
  /** Function tools, other agents as tools (`other.asTool({...})`, each call a child run), and hosted tools
   * (`webSearchTool()`, `hostedMcpTool({...})`, ...: Responses API only). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tools of any parameter schema
  tools?: (FunctionTool<any> | AgentTool<any> | HostedTool)[];
  /** MCP servers whose tools the agent gets (`mcpStdio`, `mcpHttp`, `mcpSse`). */
  mcpServers?: McpServer[];
  /** Structured final output, validated; an invalid one is fed back to the model once. */
  outputType?: z.ZodType;
  /** Agents (or registered agent names, or `handoff(agent, options)`) this one may transfer to with `transfer_to_<name>`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handoffs of any input schema
  handoffs?: (Agent | string | Handoff<any>)[];
  handoffDescription?: string;
  /** Default 10. */
  maxTurns?: number;
  /** Endpoints told about this agent's runs (approval.requested, run.completed, run.failed), beside the worker's. */
  webhooks?: WebhookEndpoint[];
  /**
   * Turns in a row in which every tool call failed (unparsable arguments, unknown tool, schema violation, a tool
   * that throws) before the run fails with `TooManyToolFailures`. Default 3. A turn with any success resets the
   * count; every error goes back to the model as a tool result it can correct.
   */
  maxConsecutiveToolFailures?: number;
  inputGuardrails?: InputGuardrail[];
  outputGuardrails?: OutputGuardrail[];
  /**
   * Who may decide approvals; anyone when absent. Plain names are names, not identities (whoever calls may type
   * them); `{ name, publicKey }` entries (or `approverKeyring`) make decisions count only when signed by that key.
   */
  approvers?: (string | ApproverKey)[];
  /** A keyring file (lines `name ed25519:<base64>`) of approvers whose signed decisions count. */
  approverKeyring?: string;
  approvalTimeout?: ApprovalTimeout;
  /** Text the model gets for a rejected call; `{reason}` and `{approver}` are filled in. */
  rejectionMessage?: string;
  /**
   * `local` runs function tools as local activities: less latency per turn, recorded as markers rather than
   * activity events. Default `activity`.
   */
  toolExecution?: 'activity' | 'local';
  /** Capabilities that need no sandbox (for example memory in read-only mode). */
  capabilities?: Capability[];
  /** Keep each run open after it answers, for `client.send` (a start option can override it). */
  conversation?: boolean | ConversationOptions;
  /**
   * What one run tree of this agent may spend on model calls (tokens and/or USD by the worker's prices), checked
   * before each model call; `onExceed: 'ask'` parks the run on an approval of the built-in `budget` tool. A run's
   * own `budget` start option can only tighten it. See docs/budgets.md.
   */
  budget?: Budget;
}

// Agents as tools and handoffs name agents, and agents list them: the types that refer to each other live here, so
// the definition layer has no import cycle. handoff.ts builds handoffs; `asTool` below builds agent tools.

export interface AgentToolOptions<I extends z.ZodType = z.ZodType> {
  /** Tool name the model sees; default `run_<agent>`. */
  name?: string;
  description: string;
  /**
   * Arguments the model must give, validated (in an activity) before the child starts; the child's input is then
   * the validated arguments as JSON. Default: `{ input: string }`, the child's input text.
   */
  input?: I;
  /** Ask a human before the sub-agent starts, like a function tool's `needsApproval`. */
  needsApproval?: ApprovalSetting<z.output<I>>;
  /** Overrides the sub-agent's maxTurns for runs started by this tool. */
  maxTurns?: number;
}

/**
 * An agent as a tool (`reviewer.asTool({...})`): each call runs the agent as its own durable run (a child `agentRun`
 * workflow) and returns its final output. The run sees it as a ToolSpec of kind `agent` (spec.ts).
 */
export interface AgentTool<I extends z.ZodType = z.ZodType> extends AgentToolOptions<I> {
  readonly kind: 'agent';
  readonly name: string;
  readonly agent: Agent;
}

export interface HandoffContext {
  /** The agent handing off. */
  from: string;
  to: string;
  workflowId: string;
  callId: string;
  /** The run's context object. */
  context: unknown;
}

export interface HandoffOptions<I extends z.ZodType = z.ZodType> {
  /** Tool name; default `transfer_to_<agent>`. */
  toolName?: string;
  /** Tool description; default the target's `handoffDescription`. */
  description?: string;
  /** Arguments the model must give with the handoff, validated before it happens. */
  inputType?: I;
  /** Runs (as an activity) before the next agent takes over, with the validated input. */
  onHandoff?: (input: z.output<I> | undefined, ctx: HandoffContext) => unknown;
  /** What history the next agent sees; the dropped items are kept as a blob (ref on the handoff item). */
  inputFilter?: (items: RunItem[]) => RunItem[] | Promise<RunItem[]>;
}

/** A configured handoff (`handoff(billing, {...})`, handoff.ts); a plain agent in `handoffs` is one without options. */
export interface Handoff<I extends z.ZodType = z.ZodType> extends HandoffOptions<I> {
  readonly kind: 'handoff';
  readonly agent: Agent | string;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Brands that make `instanceof` work across copies of this module: a worker that loads a TypeScript agents file
 * through tsx's `tsImport` gets a second instance of Keel's classes, and an Agent from one must still be an Agent.
 */
const AGENT_BRAND = Symbol.for('keel.Agent');
const SANDBOX_AGENT_BRAND = Symbol.for('keel.SandboxAgent');

function branded(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** A plain agent: instructions, a model, function tools, handoffs, guardrails. */
export class Agent {
  static [Symbol.hasInstance](value: unknown): boolean {
    return branded(value, AGENT_BRAND);
  }
  readonly [AGENT_BRAND] = true;
  readonly options: AgentOptions;
  constructor(options: AgentOptions) {
    if (!/^[a-zA-Z0-9_-]{1,48}$/.test(options.name)) {
      throw new TypeError(`agent name '${options.name}' must be 1-48 letters, digits, '_' or '-'`);
    }
    const badBudget =
      options.budget !== undefined ? budgetProblem(options.budget, `agent ${options.name}: budget`) : undefined;
    if (badBudget) throw new TypeError(badBudget);
    this.options = options;
  }
  get name(): string {
    return this.options.name;
  }
  /** This agent as a tool for another agent: each call runs it as a child run and returns its final output. */
  asTool<I extends z.ZodType>(options: AgentToolOptions<I>): AgentTool<I> {
    const name = options.name ?? `run_${this.name}`;
    const rule = `${TOOL_NAME} (OpenAI's rule for function names)`;
    if (!TOOL_NAME.test(name)) throw new TypeError(`tool name '${name}' must match ${rule}`);
    if (!options.description) throw new TypeError(`agent tool '${name}' needs a description`);
    return { ...options, kind: 'agent', name, agent: this };
  }
}

export interface SandboxOptions {
  /** Image to run; defaults to KEEL_SANDBOX_IMAGE, then keel-sandbox:latest. */
  image?: string;
  /**
   * Network access, off by default. `{ allow: ['pypi.org', '*.github.com'] }`: only those host names, through the
   * sandbox's egress proxy; `true`: any public host name through it. Never the worker's host, private networks or
   * cloud metadata addresses (docs/security.md). Docker tier only (`true` on UnixLocal shares the host's network).
   */
  network?: SandboxNetwork;
  limits?: Partial<SandboxLimits>;
  /**
   * `runsc` runs the sandbox under gVisor (a user-space kernel; no network): the `gvisor` tier, which some worker
   * must offer (`sandboxes: { gvisor }`, `--sandboxes gvisor`). Default: the engine's runtime.
   */
  runtime?: SandboxRuntime;
  /**
   * The sandbox backend this agent needs: `docker`, `gvisor`, `microvm` or `local` (bubblewrap). Its sandbox goes to
   * a worker offering that tier (`createWorker({ sandboxes: { microvm } })`); none offering it, or an option the tier
   * cannot back (network on gvisor or microvm, `{ allow }` on local), fails the run at resolution. `runtime: 'runsc'`
   * means `gvisor`. Default: the default tier of the worker that creates the sandbox (Docker where offered).
   */
  tier?: SandboxTier;
  /** Keep the container after the run ends (for debugging). */
  keepContainer?: boolean;
  /** Per-command default timeout. Default 60 s. */
  commandTimeoutMs?: number;
}

export interface SandboxAgentOptions extends AgentOptions {
  manifest?: Manifest;
  capabilities?: Capability[];
  sandbox?: SandboxOptions;
  /**
   * Secrets a run's own workspace (`startRun(..., { workspace })`) may name, e.g. `gitRepo({ url, auth:
   * secret('GH_TOKEN') })`. A start request is untrusted input: any other secret it names is refused at start.
   */
  runSecrets?: string[];
}

/** An agent with its own hardened container per run, workspace at /workspace. */
export class SandboxAgent extends Agent {
  static [Symbol.hasInstance](value: unknown): boolean {
    return branded(value, SANDBOX_AGENT_BRAND);
  }
  readonly [SANDBOX_AGENT_BRAND] = true;
  declare readonly options: SandboxAgentOptions;
  constructor(options: SandboxAgentOptions) {
    super(options);
  }
}
