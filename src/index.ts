/**
 * Keel's public library surface.
 */
export { Agent, SandboxAgent } from './agents/agent';
export type { AgentOptions, SandboxAgentOptions, SandboxOptions, RunContext, ModelSettings, ApprovalTimeout } from './agents/agent';
export { tool } from './agents/tool';
export type { FunctionTool, ToolContext } from './agents/tool';
export type { ApprovalPolicy, ApprovalSetting } from './agents/approval';
export type { InputGuardrail, OutputGuardrail, ToolGuardrail, GuardrailResult } from './agents/guardrails';
export { file, dir, localDir, gitRepo } from './agents/manifest';
export type { Manifest, ManifestEntry } from './agents/manifest';
export { filesystem, shell } from './agents/capabilities';
export { compaction } from './agents/compaction';
export { memory } from './agents/memory';
export type { MemoryOptions } from './agents/memory';
export { LocalMemoryStore } from './storage/memory-store';
export type { MemoryStore } from './storage/memory-store';
export type { CompactionOptions } from './agents/compaction';
export type { Capability, CapabilityResolution, CapabilityResolveContext, SandboxTool, SandboxToolContext } from './agents/capabilities';
export { sandboxTool } from './agents/capabilities';
export { skills, parseSkillFrontMatter, discoverSkills } from './agents/skills';
export type { SkillsOptions, SkillInfo, SkillIndex } from './agents/skills';
export type { AgentSpec } from './agents/spec';
export { KeelClient, RunFailedError } from './client';
export { createWorker } from './worker';
export type { CreateWorkerOptions, KeelWorker } from './worker';
export { KeelError, SandboxError, ModelError } from './errors';
export type { RunState, RunItem, RunStatus } from './workflows/run-state';
export { parseRunState, RUN_STATE_VERSION } from './workflows/run-state';
export { FAILURE_TYPES } from './workflows/agent-run';
export { startScriptedModelServer } from './dev/scripted-model';
export type { Script } from './dev/script';
