/**
 * Keel's public library surface.
 */
export { Agent, SandboxAgent } from './agents/agent.js';
export type { AgentOptions, SandboxAgentOptions, SandboxOptions, RunContext, ModelSettings, ApprovalTimeout } from './agents/agent.js';
export { tool } from './agents/tool.js';
export type { FunctionTool, ToolContext } from './agents/tool.js';
export type { ApprovalPolicy, ApprovalSetting } from './agents/approval.js';
export type { InputGuardrail, OutputGuardrail, ToolGuardrail, GuardrailResult } from './agents/guardrails.js';
export { file, dir, localDir, gitRepo } from './agents/manifest.js';
export type { Manifest, ManifestEntry } from './agents/manifest.js';
export { filesystem, shell } from './agents/capabilities.js';
export { compaction } from './agents/compaction.js';
export { memory } from './agents/memory.js';
export type { MemoryOptions } from './agents/memory.js';
export { LocalMemoryStore } from './storage/memory-store.js';
export type { MemoryStore } from './storage/memory-store.js';
export type { CompactionOptions } from './agents/compaction.js';
export type { Capability, CapabilityResolution, CapabilityResolveContext, SandboxTool, SandboxToolContext } from './agents/capabilities.js';
export { sandboxTool } from './agents/capabilities.js';
export { skills, parseSkillFrontMatter, discoverSkills } from './agents/skills.js';
export type { SkillsOptions, SkillInfo, SkillIndex } from './agents/skills.js';
export type { AgentSpec } from './agents/spec.js';
export { KeelClient, RunFailedError } from './client.js';
export { createWorker } from './worker.js';
export type { CreateWorkerOptions, KeelWorker } from './worker.js';
export { KeelError, SandboxError, ModelError } from './errors.js';
export type { RunState, RunItem, RunStatus } from './workflows/run-state.js';
export { parseRunState, RUN_STATE_VERSION } from './workflows/run-state.js';
export { FAILURE_TYPES } from './workflows/agent-run.js';
export { handoff, handoffFilters } from './agents/handoff.js';
export type { Handoff, HandoffOptions, HandoffContext } from './agents/handoff.js';
export type { AgentTool, AgentToolOptions } from './agents/agent-tool.js';
export type { StartManyOptions } from './client.js';
export type { FanOutResult, FanOutItemResult, AgentRunResult } from './workflows/messages.js';
export type { ChildRun, ParentRef } from './workflows/tree.js';
export type { RunTreeNode, TreeApproval } from './run-tree.js';
