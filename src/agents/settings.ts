/**
 * The plain settings types an agent definition is made of (run context, model settings, approval timeout,
 * compaction and memory options and specs). A leaf: it imports nothing of agents/, so agent.ts, spec.ts and the
 * capabilities can all use these without importing one another (agent.ts, compaction.ts, memory.ts re-export them).
 */

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
  /** `auto`, `required`, `none`, or the name of one of the agent's tools (a hosted tool by its type, e.g. `web_search`). */
  toolChoice?: 'auto' | 'required' | 'none' | (string & {});
  /** Reasoning models: effort and summary. With it, encrypted reasoning is requested and sent back each turn. */
  reasoning?: {
    effort?: 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';
    summary?: 'auto' | 'concise' | 'detailed';
  };
  /** Responses API: what the API does when the input exceeds the context window. */
  truncation?: 'auto' | 'disabled';
  /** Responses API `text.verbosity`. */
  verbosity?: 'low' | 'medium' | 'high';
  /** Extra request body fields for the provider, merged last (e.g. `{ service_tier: 'flex' }`). Must be JSON. */
  extra?: Record<string, unknown>;
}

export interface ApprovalTimeout {
  ms: number;
  /** What happens when nobody decides in time: reject the pending calls (default) or fail the run. */
  onExpiry?: 'reject' | 'fail';
}

export interface CompactionOptions {
  /** Compact when the last model call's context (input + output tokens) passes this. */
  thresholdTokens?: number;
  /** Or: a fraction (default 0.8) of the model's context window. */
  contextWindow?: number;
  fraction?: number;
  /** Model turns kept verbatim after the summary. Default 2. */
  keepRecentTurns?: number;
  /** Model that writes the summary; default the agent's own. */
  model?: string;
}

export interface CompactionSpec {
  thresholdTokens: number;
  keepRecentTurns: number;
  model?: string;
}

export interface MemoryLayout {
  memory: string;
  summary: string;
  raw: string;
  rollouts: string;
  sessions: string;
}

export interface MemoryOptions {
  /**
   * Which memory a run uses: a fixed name or one derived from the run's context (a user, a project). Default: per
   * tenant and user when the context has `tenant`/`tenantId` or `user`/`userId`, else 'default' (docs/security.md).
   */
  scope?: string | ((ctx: RunContext) => string);
  /** `read-only` serves cheap runs: they read memory but add nothing. Default `read-write`. */
  mode?: 'read-write' | 'read-only';
  /** The agent may correct stale entries of /workspace/memory/MEMORY.md during a run; its edits are kept. */
  liveUpdate?: boolean;
  /** Cap on the summary placed in the instructions (≈4 characters a token). Default 1000. */
  summaryTokenCap?: number;
  /** Raw memories that trigger consolidation. Default 5. */
  consolidateAfter?: number;
  /** Consolidation reads at most this many of the newest raw memories. Default 20. */
  maxRawMemories?: number;
  /** Model for extraction (and consolidation unless `consolidationModel`); default the agent's. */
  model?: string;
  consolidationModel?: string;
  layout?: Partial<MemoryLayout>;
}

/** The resolved memory settings pinned in an AgentSpec. */
export interface MemorySpec {
  /** Whose memory (for the consolidation agent, the agent it consolidates for). */
  agent: string;
  scope: string;
  mode: 'read-write' | 'read-only' | 'consolidate';
  liveUpdate: boolean;
  consolidateAfter: number;
  maxRawMemories: number;
  model?: string;
  layout: MemoryLayout;
}
