/**
 * The built-in consolidation agent of phase 2: it works in a sandbox over a memory folder (MEMORY.md, the
 * summary, the newest raw memories and rollout summaries) and answers with the rewritten files.
 */
import { SandboxAgent } from './agent.js';
import { filesystem, shell } from './capabilities.js';
import { CONSOLIDATION_OUTPUT, CONSOLIDATOR_AGENT } from './memory.js';

export const consolidatorAgent = new SandboxAgent({
  name: CONSOLIDATOR_AGENT,
  instructions:
    "You maintain an agent's long-term memory, mounted at /workspace/memory. Read MEMORY.md, memory_summary.md and the " +
    'raw memories in raw_memories/ (newest last). Merge the raw memories into MEMORY.md: keep it organized by topic, ' +
    'drop duplicates, and where a newer memory contradicts an older entry, keep the newer one. Then write a short ' +
    "memory_summary.md with the facts most useful at the start of a run. Answer with both files' full new contents.",
  outputType: CONSOLIDATION_OUTPUT,
  maxTurns: 20,
  capabilities: [filesystem(), shell()],
});
