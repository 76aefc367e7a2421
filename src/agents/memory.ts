/**
 * Memory that improves across runs. Read: the memory summary goes into the instructions, MEMORY.md is mounted
 * at /workspace/memory for the shell. Phase 1: each finished run's raw memory and rollout summary are extracted by
 * a model call. Phase 2: once enough raw memories accumulate, the `consolidateMemory` workflow (one per scope)
 * runs a consolidation agent in a sandbox that rewrites MEMORY.md and memory_summary.md.
 */
import { z } from 'zod';
import type { Capability } from './capabilities.js';
import { defaultMemoryScope } from './memory-scope.js';
import type { MemoryLayout, MemoryOptions, MemorySpec, RunContext } from './settings.js';
export type { MemoryLayout, MemoryOptions, MemorySpec } from './settings.js';

export const DEFAULT_MEMORY_LAYOUT: MemoryLayout = {
  memory: 'MEMORY.md',
  summary: 'memory_summary.md',
  raw: 'raw_memories',
  rollouts: 'rollout_summaries',
  sessions: 'sessions',
};

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
  const scope =
    typeof options.scope === 'function' ? options.scope(ctx) : (options.scope ?? defaultMemoryScope(ctx.context));
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
export function memoryInstructions(
  spec: MemorySpec,
  summary: string | undefined,
  tokenCap: number,
  hasSandbox: boolean,
): string {
  const cap = tokenCap * 4;
  const text =
    summary && summary.length > cap ? `${summary.slice(0, cap)}\n…(summary cut to ${tokenCap} tokens)` : summary;
  const lines = [
    `## Memory (scope: ${spec.scope})`,
    text?.trim() ? text.trim() : 'You have no memories for this scope yet.',
  ];
  if (hasSandbox)
    lines.push(
      `The full memory is in /workspace/memory/${spec.layout.memory}; search it with rg or grep when it could help.`,
    );
  if (hasSandbox && spec.liveUpdate) {
    lines.push(
      `If an entry in /workspace/memory/${spec.layout.memory} turns out stale or wrong, correct it in place; your edits are kept.`,
    );
  }
  return lines.join('\n');
}
