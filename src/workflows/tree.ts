/**
 * The run tree inside a RunState: the child runs a run started (agent tools, fan-out items) with their status and
 * usage, and the parent a child was started by. Pure and deterministic: part of the workflow bundle.
 */
import { z } from 'zod';

const UsageShape = z.object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number(), requests: z.number().default(0) });
type Usage = z.infer<typeof UsageShape>;

/** `queued`: a fan-out item waiting for a free slot (no workflow yet). */
export const ChildStatusSchema = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']);
export type ChildStatus = z.infer<typeof ChildStatusSchema>;

export const ChildRunSchema = z.object({
  /** The child's workflow id: `<parentId>/<callId>` for agent tools, `<fanOutId>/<index>` for fan-out items. */
  runId: z.string(),
  agent: z.string(),
  /** The tool call that started it (agent tools). */
  callId: z.string().optional(),
  /** Its position in the inputs (fan-out). */
  index: z.number().optional(),
  status: ChildStatusSchema,
  finalOutput: z.unknown().optional(),
  error: z.object({ type: z.string(), message: z.string() }).optional(),
  /** The child's whole tree's usage, once it ended. */
  usage: UsageShape.optional(),
});
export type ChildRun = z.infer<typeof ChildRunSchema>;

export const ParentRefSchema = z.object({
  runId: z.string(),
  /** The root of the tree (the run or fan-out job a user started). */
  rootId: z.string(),
  callId: z.string().optional(),
});
export type ParentRef = z.infer<typeof ParentRefSchema>;

export function sumUsage(usages: (Usage | undefined)[]): Usage {
  const total = { inputTokens: 0, outputTokens: 0, totalTokens: 0, requests: 0 };
  for (const u of usages) {
    if (!u) continue;
    total.inputTokens += u.inputTokens;
    total.outputTokens += u.outputTokens;
    total.totalTokens += u.totalTokens;
    total.requests += u.requests ?? 0;
  }
  return total;
}

/** The usage of every child that ended (each already its own tree's). */
export function childUsage(children: ChildRun[]): Usage {
  return sumUsage(children.map((c) => c.usage));
}
