/**
 * The bodies and queries `keel serve` accepts, as zod schemas: the routes validate with them (a violation is a 400
 * naming the path) and /openapi.json is generated from them, so the document cannot drift from the code.
 */
import { z } from 'zod';
import { RunStatusSchema } from '../workflows/run-state-schema.js';

const SecretRefSchema = z.strictObject({ $secret: z.string().min(1) });

/** A workspace entry of a start request (agents/manifest.ts); the run checks it again (docs/sandboxes.md). */
const WorkspaceEntrySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('file'), content: z.string(), mode: z.number().int().optional() }),
  z.strictObject({ type: z.literal('dir') }),
  z.strictObject({ type: z.literal('localDir'), path: z.string().min(1) }),
  z.strictObject({
    type: z.literal('gitRepo'),
    url: z.string().min(1),
    ref: z.string().optional(),
    subdir: z.string().optional(),
    auth: SecretRefSchema.optional(),
  }),
]);

export const WorkspaceBody = z.strictObject({
  entries: z.record(z.string().min(1), WorkspaceEntrySchema).optional(),
  /** `<runId>` or `<runId>@<turn>`: a run of the same tenant. */
  fromSnapshot: z.string().min(1).optional(),
});

export const StartBody = z.strictObject({
  agent: z.string().min(1),
  input: z.string(),
  context: z.unknown().optional(),
  id: z.string().min(1).max(200).optional(),
  maxTurns: z.number().int().positive().optional(),
  conversation: z.boolean().optional(),
  /** What the run's tree may spend; tightens the agent's own budget (docs/budgets.md). */
  budget: z
    .strictObject({
      maxTokens: z.number().int().min(0).optional(),
      maxCostUsd: z.number().min(0).optional(),
      onExceed: z.enum(['fail', 'ask']),
    })
    .refine((b) => b.maxTokens !== undefined || b.maxCostUsd !== undefined, 'a budget needs maxTokens or maxCostUsd')
    .optional(),
  /** The run's own workspace (docs/sandboxes.md "Per-run workspace"); its tenant is the token's, never the body's. */
  workspace: WorkspaceBody.optional(),
});

export const SendBody = z.strictObject({ text: z.string().min(1) });

/**
 * The body the AI SDK's chat transport (`DefaultChatTransport`, `useChat`) posts: the chat's UIMessages, of which
 * the last user message is sent to the run. Other fields (`id`, `trigger`, `messageId`, a front end's own) pass.
 */
export const ChatBody = z.looseObject({
  messages: z
    .array(
      z.looseObject({
        role: z.enum(['system', 'user', 'assistant']),
        parts: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
      }),
    )
    .min(1),
});

export const DecisionBody = z.strictObject({
  callId: z.string().min(1),
  decision: z.enum(['approve', 'reject']),
  approver: z.string().min(1),
  reason: z.string().optional(),
  always: z.boolean().optional(),
  /** `sha256:` + hex of the canonical arguments you showed the approver (RunState `pendingApprovals[].argsHash`). */
  argsHash: z.string().optional(),
  /** An Ed25519 signature made with the approver's key (agents with approver keys need one). */
  signature: z.strictObject({ time: z.string(), value: z.string() }).optional(),
  /** Approving a `budget` call: how much more the run tree may spend (default: what the run asked for). */
  extendTokens: z.number().int().min(0).optional(),
  extendUsd: z.number().min(0).optional(),
});

export const ListQuery = z.strictObject({
  status: RunStatusSchema.optional(),
  agent: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const EventsQuery = z.strictObject({ after: z.coerce.number().int().min(0).optional() });

export type Problem = { error: string; path?: string };
