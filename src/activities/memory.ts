/**
 * Memory activities: mount a memory folder into a sandbox, keep the agent's live edits, extract a finished run's
 * raw memory and rollout summary (phase 1), and store what the consolidation agent wrote (phase 2).
 */
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { file, type ManifestEntry } from '../agents/manifest.js';
import { CONSOLIDATION_OUTPUT, EXTRACTION_OUTPUT, type MemorySpec } from '../agents/memory.js';
import { materializeManifest } from './manifest.js';
import type { AgentSpec } from '../agents/spec.js';
import type { SandboxClient, StartedSandbox } from '../sandbox/types.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { MemoryStore } from '../storage/memory-store.js';
import type { SandboxSession } from '../workflows/run-state.js';
import { loadHistory } from '../storage/conversation.js';
import type { ModelRequest } from './model.js';
import { transcript } from './model-format.js';
import type { CallModelInput } from './types.js';

export interface MemoryDeps {
  memory: MemoryStore;
  blobs: BlobStore;
  request: ModelRequest;
  sandboxes?: SandboxClient;
}

const EXTRACTION_PROMPT =
  'You extract long-term memory from a finished agent run. raw_memory: durable facts, preferences and lessons worth ' +
  'knowing in future runs (Markdown bullets; nothing run-specific or secret). rollout_summary: what the run did.';

const newest = (names: string[], n: number) => names.slice(Math.max(0, names.length - n));

/** Records how many raw memories the last consolidation saw, so only new ones count toward the next. */
const CONSOLIDATION_MARK = 'consolidation.json';

async function pendingRawMemories(store: MemoryStore, m: MemorySpec): Promise<number> {
  const total = (await store.list(m, m.layout.raw)).length;
  const mark = await store.read(m, CONSOLIDATION_MARK);
  const seen = mark ? (JSON.parse(mark) as { rawCount: number }).rawCount : 0;
  return total - seen;
}

/** Copies the memory folder into /workspace/memory (for consolidation: with the newest raw memories too). */
export async function mountMemory(sandbox: StartedSandbox, store: MemoryStore, spec: MemorySpec): Promise<void> {
  const names = [spec.layout.memory, spec.layout.summary];
  if (spec.mode === 'consolidate') {
    for (const dir of [spec.layout.raw, spec.layout.rollouts]) {
      names.push(...newest(await store.list(spec, dir), spec.maxRawMemories).map((name) => `${dir}/${name}`));
    }
  }
  const entries: Record<string, ManifestEntry> = {};
  for (const name of names) entries[`memory/${name}`] = file((await store.read(spec, name)) ?? '');
  await materializeManifest(sandbox, { entries });
}

export function memoryActivities(deps: MemoryDeps) {
  return {
    /** Keeps the agent's in-place corrections of MEMORY.md (liveUpdate). */
    async syncMemory(input: { session: SandboxSession; memory: MemorySpec }): Promise<boolean> {
      const sandbox = await deps.sandboxes?.attach(input.session.containerId);
      if (!sandbox) return false;
      const text = (
        await sandbox.readFile(`memory/${input.memory.layout.memory}`, { maxBytes: 4 * 1024 * 1024 })
      ).toString('utf8');
      const before = await deps.memory.read(input.memory, input.memory.layout.memory);
      if (text === (before ?? '')) return false;
      await deps.memory.write(input.memory, input.memory.layout.memory, text);
      return true;
    },

    /** Phase 1: raw memory, rollout summary and session log of one run. Returns the raw memories not yet consolidated. */
    async extractMemory(input: {
      spec: AgentSpec;
      workflowId: string;
      history: CallModelInput['history'];
      memory: MemorySpec;
    }): Promise<number> {
      const items = await loadHistory(deps.blobs, input.history);
      const m = input.memory;
      const extractor: AgentSpec = {
        ...input.spec,
        model: m.model ?? input.spec.model,
        instructions: EXTRACTION_PROMPT,
        tools: [],
        outputSchema: z.toJSONSchema(EXTRACTION_OUTPUT) as Record<string, unknown>,
      };
      const turn = await deps.request(
        { spec: extractor },
        [{ type: 'message', role: 'user', content: transcript(items) }],
        Context.current().cancellationSignal,
      );
      const parsed = EXTRACTION_OUTPUT.safeParse(JSON.parse(turn.text || '{}'));
      if (!parsed.success) throw new Error(`memory extraction returned an unexpected shape: ${parsed.error.message}`);
      const file = `${input.workflowId}.md`;
      await deps.memory.write(m, `${m.layout.raw}/${file}`, parsed.data.raw_memory);
      await deps.memory.write(m, `${m.layout.rollouts}/${file}`, parsed.data.rollout_summary);
      await deps.memory.write(
        m,
        `${m.layout.sessions}/${input.workflowId}.jsonl`,
        items.map((i) => JSON.stringify(i)).join('\n') + '\n',
      );
      return pendingRawMemories(deps.memory, m);
    },

    /** Phase 2's result: the consolidation agent's rewritten files. */
    async writeConsolidatedMemory(input: {
      memory: MemorySpec;
      output: { memory_md: string; memory_summary_md: string };
    }): Promise<void> {
      const parsed = CONSOLIDATION_OUTPUT.parse(input.output);
      await deps.memory.write(input.memory, input.memory.layout.memory, parsed.memory_md);
      await deps.memory.write(input.memory, input.memory.layout.summary, parsed.memory_summary_md);
      const rawCount = (await deps.memory.list(input.memory, input.memory.layout.raw)).length;
      await deps.memory.write(
        input.memory,
        CONSOLIDATION_MARK,
        JSON.stringify({ rawCount, at: new Date().toISOString() }),
      );
    },
  };
}
