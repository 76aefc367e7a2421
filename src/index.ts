/**
 * Keel's public library surface.
 */
export { Agent, SandboxAgent } from './agents/agent.js';
export type {
  AgentOptions,
  SandboxAgentOptions,
  SandboxOptions,
  RunContext,
  ModelSettings,
  ApprovalTimeout,
} from './agents/agent.js';
export { tool } from './agents/tool.js';
export type { FunctionTool, ToolContext } from './agents/tool.js';
export { mcpStdio, mcpHttp, mcpSse, fromEnv } from './agents/mcp.js';
export type { McpServer, McpStdioOptions, McpHttpOptions, McpToolFilter, EnvRef, SecretValue } from './agents/mcp.js';
export {
  webSearchTool,
  fileSearchTool,
  codeInterpreterTool,
  imageGenerationTool,
  hostedMcpTool,
} from './agents/hosted-tools.js';
export type { HostedTool, HostedToolConfig, HostedMcpOptions } from './agents/hosted-tools.js';
export type { ApprovalPolicy, ApprovalSetting } from './agents/approval.js';
export type { InputGuardrail, OutputGuardrail, ToolGuardrail, GuardrailResult } from './agents/guardrails.js';
export { file, dir, localDir, gitRepo } from './agents/manifest.js';
export type { Manifest, ManifestEntry } from './agents/manifest.js';
export { secret, isSecretRef } from './agents/secret.js';
export type { SecretRef, MaybeSecret } from './agents/secret.js';
export { envSecrets, SecretVault } from './activities/secrets.js';
export type { SecretsProvider } from './activities/secrets.js';
export { filesystem, shell } from './agents/capabilities.js';
export { compaction } from './agents/compaction.js';
export { memory } from './agents/memory.js';
export type { MemoryOptions } from './agents/memory.js';
export { LocalMemoryStore } from './storage/memory-store.js';
export type { MemoryStore } from './storage/memory-store.js';
export type { CompactionOptions } from './agents/compaction.js';
export type {
  Capability,
  CapabilityResolution,
  CapabilityResolveContext,
  SandboxTool,
  SandboxToolContext,
} from './agents/capabilities.js';
export { sandboxTool } from './agents/capabilities.js';
export { skills, parseSkillFrontMatter, discoverSkills } from './agents/skills.js';
export type { SkillsOptions, SkillInfo, SkillIndex } from './agents/skills.js';
export type { AgentSpec } from './agents/spec.js';
export { KeelClient, RunFailedError } from './client.js';
export type { RunWorkspace, WorkspaceEntry, WorkspaceOptions } from './results/workspace.js';
export type { WorkspaceRequest, WorkspaceReceipt } from './agents/run-workspace.js';
export { createWorker } from './worker.js';
export type { CreateWorkerOptions, KeelWorker } from './worker.js';
export { KeelError, SandboxError, ModelError, DecisionError } from './errors.js';
export type { ArchivedItems, RunState, RunItem, RunStatus } from './workflows/run-state.js';
export { RUN_STATE_VERSION } from './workflows/run-state.js';
export { parseRunState } from './workflows/parse-run-state.js';
export { FAILURES, FAILURE_TYPES, ERROR_CODES, DECISION_FAILURES } from './failures.js';
export type { FailureType, FailureInfo, ErrorCode, DecisionFailureType } from './failures.js';
export { handoff, handoffFilters } from './agents/handoff.js';
export type { Handoff, HandoffOptions, HandoffContext } from './agents/handoff.js';
export type { AgentTool, AgentToolOptions } from './agents/agent.js';
export type { GetStateOptions, StartManyOptions } from './client.js';
export type { FanOutResult, FanOutItemResult, AgentRunResult } from './workflows/messages.js';
export type { ChildRun, ParentRef } from './workflows/tree.js';
export type { RunTreeNode, TreeApproval } from './run-tree.js';
export { auditRun, renderAuditJson, renderAuditMarkdown } from './audit/index.js';
export type { AuditDocument, AuditOptions } from './audit/index.js';
export { DockerSandboxClient } from './sandbox/docker.js';
export type { DockerSandboxClientOptions } from './sandbox/docker.js';
export type { EgressOptions } from './sandbox/egress/sidecar.js';
export { MicroVMSandboxClient } from './sandbox/microvm.js';
export type { MicroVMSandboxClientOptions } from './sandbox/microvm.js';
export { UnixLocalSandboxClient } from './sandbox/unix-local.js';
export { AgentClient } from './sandbox/agent-client.js';
export type { PoolOptions } from './sandbox/pool.js';
export type {
  SandboxClient,
  StartedSandbox,
  SandboxCreateOptions,
  SandboxRuntime,
  SandboxLimits,
  SandboxNetwork,
} from './sandbox/types.js';
