/**
 * Agent definitions: user code, registered with the worker. A run never sees these objects directly; it sees
 * the AgentSpec snapshot that `resolveAgent` makes of them (spec.ts), pinned in the run's history.
 */
import type { z } from 'zod';
import type { Capability } from './capabilities.js';
import type { InputGuardrail, OutputGuardrail } from './guardrails.js';
import type { Manifest } from './manifest.js';
import type { FunctionTool } from './tool.js';
import { agentTool, type AgentTool, type AgentToolOptions } from './agent-tool.js';
import type { Handoff } from './handoff.js';
import type { SandboxLimits, SandboxRuntime } from '../sandbox/types.js';

export interface RunContext {
  agent: string;
  workflowId: string;
  /** The context object given to `startRun`. */
  context: unknown;
  /** Memory summary for the run's scope, when the agent has the memory capability. */
  memorySummary?: string;
}

export interface ModelSettings {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  parallelToolCalls?: boolean;
  toolChoice?: 'auto' | 'required' | 'none';
}

export interface ApprovalTimeout {
  ms: number;
  /** What happens when nobody decides in time: reject the pending calls (default) or fail the run. */
  onExpiry?: 'reject' | 'fail';
}

export interface AgentOptions {
  name: string;
  instructions: string | ((ctx: RunContext) => string | Promise<string>);
  /** Model name; defaults to KEEL_MODEL, then 'gpt-4.1-mini'. */
  model?: string;
  modelSettings?: ModelSettings;
  /** Function tools, and other agents as tools (`other.asTool({...})`, each call a child run). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tools of any parameter schema
  tools?: (FunctionTool<any> | AgentTool<any>)[];
  /** Structured final output, validated; an invalid one is fed back to the model once. */
  outputType?: z.ZodType;
  /** Agents (or registered agent names, or `handoff(agent, options)`) this one may transfer to with `transfer_to_<name>`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handoffs of any input schema
  handoffs?: (Agent | string | Handoff<any>)[];
  handoffDescription?: string;
  /** Default 10. */
  maxTurns?: number;
  /** Consecutive failed tool calls before the run fails. Default 3. */
  maxConsecutiveToolFailures?: number;
  inputGuardrails?: InputGuardrail[];
  outputGuardrails?: OutputGuardrail[];
  /** Who may decide approvals; anyone when absent. */
  approvers?: string[];
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
}

/** A plain agent: instructions, a model, function tools, handoffs, guardrails. */
export class Agent {
  readonly options: AgentOptions;
  constructor(options: AgentOptions) {
    if (!/^[a-zA-Z0-9_-]{1,48}$/.test(options.name)) {
      throw new TypeError(`agent name '${options.name}' must be 1-48 letters, digits, '_' or '-'`);
    }
    this.options = options;
  }
  get name(): string {
    return this.options.name;
  }
  /** This agent as a tool for another agent: each call runs it as a child run and returns its final output. */
  asTool<I extends z.ZodType>(options: AgentToolOptions<I>): AgentTool<I> {
    return agentTool(this, options);
  }
}

export interface SandboxOptions {
  /** Image to run; defaults to KEEL_SANDBOX_IMAGE, then keel-sandbox:latest. */
  image?: string;
  /** Network access (off by default). */
  network?: boolean;
  limits?: Partial<SandboxLimits>;
  /** `runsc` runs the sandbox under gVisor (a user-space kernel; no network). Default: the engine's runtime. */
  runtime?: SandboxRuntime;
  /** Keep the container after the run ends (for debugging). */
  keepContainer?: boolean;
  /** Per-command default timeout. Default 60 s. */
  commandTimeoutMs?: number;
}

export interface SandboxAgentOptions extends AgentOptions {
  manifest?: Manifest;
  capabilities?: Capability[];
  sandbox?: SandboxOptions;
}

/** An agent with its own hardened container per run, workspace at /workspace. */
export class SandboxAgent extends Agent {
  declare readonly options: SandboxAgentOptions;
  constructor(options: SandboxAgentOptions) {
    super(options);
  }
}
