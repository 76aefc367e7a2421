/**
 * Memory that improves across runs. Read: the memory summary goes into the instructions, MEMORY.md is mounted
 * at /workspace/memory for the shell. Phase 1: each finished run's raw memory and rollout summary are extracted by
 * a model call. Phase 2: once enough raw memories accumulate, the `consolidateMemory` workflow (one per scope)
 * runs a consolidation agent in a sandbox that rewrites MEMORY.md and memory_summary.md.
 */
import { z } from 'zod';
import type { RunContext } from './agent.js';
import type { Capability } from './capabilities.js';
import { defaultMemoryScope } from './memory-scope.js';

export interface MemoryLayout {
  memory: string;
  summary: string;
  raw: string;
  rollouts: string;
  sessions: string;
}

export const DEFAULT_MEMORY_LAYOUT: MemoryLayout = {
  memory: 'MEMORY.md',
  summary: 'memory_summary.md',
  raw: 'raw_memories',
  rollouts: 'rollout_summaries',
  sessions: 'sessions',
};

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

export const EXTRACTION_OUTPUT = z.object({
  raw_memory: z.string().describe('Facts worth remembering for future runs, as Markdown bullet points'),
  rollout_summary: z.string().describe('What this run did, in a few sentences'),
});

export const CONSOLIDATION_OUTPUT = z.object({
  memory_md: z.string().describe('The new MEMORY.md'),
  memory_summary_md: z.string().describe('The new memory_summary.md: the most useful facts, short'),
});

export { CONSOLIDATOR_AGENT } from './memory-scope.js';

export function memory(options: MemoryOptions = {}): Capability {
  return { name: 'memory', memory: options };
}

export function memorySpecOf(agent: string, options: MemoryOptions, ctx: RunContext): MemorySpec {
  const scope = typeof options.scope === 'function' ? options.scope(ctx) : (options.scope ?? defaultMemoryScope(ctx.context));
  return {
    agent,
    scope,
    mode: options.mode ?? 'read-write',
    liveUpdate: options.liveUpdate ?? false,
    consolidateAfter: options.consolidateAfter ?? 5,
    maxRawMemories: options.maxRawMemories ?? 20,
    model: options.model,
    layout: { ...DEFAULT_MEMORY_LAYOUT, ...options.layout },
  };
}

/** Guidance and the (capped) summary for the instructions. */
export function memoryInstructions(spec: MemorySpec, summary: string | undefined, tokenCap: number, hasSandbox: boolean): string {
  const cap = tokenCap * 4;
  const text = summary && summary.length > cap ? `${summary.slice(0, cap)}\n…(summary cut to ${tokenCap} tokens)` : summary;
  const lines = [`## Memory (scope: ${spec.scope})`, text?.trim() ? text.trim() : 'You have no memories for this scope yet.'];
  if (hasSandbox) lines.push(`The full memory is in /workspace/memory/${spec.layout.memory}; search it with rg or grep when it could help.`);
  if (hasSandbox && spec.liveUpdate) {
    lines.push(`If an entry in /workspace/memory/${spec.layout.memory} turns out stale or wrong, correct it in place; your edits are kept.`);
  }
  return lines.join('\n');
}
