/**
 * The bodies and queries `keel serve` accepts, as zod schemas: the routes validate with them (a violation is a 400
 * naming the path) and /openapi.json is generated from them, so the document cannot drift from the code.
 */
import { z } from 'zod';
import { RunStatusSchema } from '../workflows/run-state-schema.js';

export const StartBody = z.strictObject({
  agent: z.string().min(1),
  input: z.string(),
  context: z.unknown().optional(),
  id: z.string().min(1).max(200).optional(),
  maxTurns: z.number().int().positive().optional(),
  conversation: z.boolean().optional(),
});

export const SendBody = z.strictObject({ text: z.string().min(1) });

/**
 * The body the AI SDK's chat transport (`DefaultChatTransport`, `useChat`) posts: the chat's UIMessages, of which
 * the last user message is sent to the run. Other fields (`id`, `trigger`, `messageId`, a front end's own) pass.
 */
export const ChatBody = z.looseObject({
  messages: z
    .array(z.looseObject({ role: z.enum(['system', 'user', 'assistant']), parts: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })) }))
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
});

export const ListQuery = z.strictObject({
  status: RunStatusSchema.optional(),
  agent: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const EventsQuery = z.strictObject({ after: z.coerce.number().int().min(0).optional() });

export type Problem = { error: string; path?: string };
