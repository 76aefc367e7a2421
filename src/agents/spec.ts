/**
 * AgentSpec: the serializable snapshot of an agent definition that a run works from. Types only, so workflow
 * code can import it without pulling in user code or Node APIs.
 */
import type { ApprovalSpec } from './approval.js';
import type { CompactionSpec } from './compaction.js';
import type { MemorySpec } from './memory.js';
import type { ModelSettings, ApprovalTimeout } from './agent.js';
import type { Manifest } from './manifest.js';
import type { SandboxLimits, SandboxRuntime } from '../sandbox/types.js';

export type ToolKind = 'function' | 'sandbox' | 'handoff' | 'agent';

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
  kind: ToolKind;
  approval: ApprovalSpec;
  timeoutMs: number;
  /** Tool guardrails to run around this tool (by name, resolved in the activity). */
  guardrails: { input: string[]; output: string[] };
  /** Kind `agent`: the sub-agent each call runs as a child run. */
  agent?: AgentToolSpec;
}

export interface AgentToolSpec {
  /** The sub-agent's name (registered on the same workers). */
  name: string;
  /** Whether the arguments have a user schema (validated by the `agentToolInput` activity); else `{ input }`. */
  customInput: boolean;
  maxTurns?: number;
}

export interface HandoffSpec {
  agent: string;
  toolName: string;
  description: string;
  /** Set when the handoff has an `inputType`, `onHandoff` or `inputFilter`: the `prepareHandoff` activity runs them. */
  prepare?: { input: boolean; hook: boolean; filter: boolean };
}

export interface SandboxSpec {
  image: string;
  network: boolean;
  limits: Partial<SandboxLimits>;
  /** The Docker runtime (`runsc`: gVisor); absent means the engine's default. */
  runtime?: SandboxRuntime;
  keepContainer: boolean;
  commandTimeoutMs: number;
  manifest: Manifest;
  /** What capabilities' `resolve` hooks returned as `data`, by capability name, for their sandbox tools. */
  capabilityData?: Record<string, unknown>;
}

export interface AgentSpec {
  name: string;
  /** Content hash of the definition: which version of the agent ran is a recorded fact. */
  version: string;
  instructions: string;
  model: string;
  modelSettings: ModelSettings;
  tools: ToolSpec[];
  handoffs: HandoffSpec[];
  outputSchema?: Record<string, unknown>;
  maxTurns: number;
  maxConsecutiveToolFailures: number;
  inputGuardrails: { name: string; mode: 'parallel' | 'blocking' }[];
  outputGuardrails: string[];
  approvers?: string[];
  approvalTimeout?: Required<ApprovalTimeout>;
  rejectionMessage: string;
  capabilities: string[];
  compaction?: CompactionSpec;
  memory?: MemorySpec;
  /** How function tools run: as activities (default) or local activities (no task-queue round trip). */
  toolExecution?: 'activity' | 'local';
  sandbox?: SandboxSpec;
}
