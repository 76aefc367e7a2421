/**
 * `keel serve`'s HTTP app (Hono): every route of routes.ts behind a bearer token, bodies and queries checked by
 * their zod schemas, errors as `{ error }` with the status a client can branch on. Each principal talks to
 * Temporal as `keel-serve:<principal>`, so history (and `keel audit`) records who started, cancelled or decided.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import { WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { z } from 'zod';
import { decisionError, type KeelClient } from '../client.js';
import { auditRun } from '../audit/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import { DecisionError, KeelError } from '../errors.js';
import { IDENTITY_PROBLEMS } from '../failures.js';
import { decideUpdate } from '../workflows/messages.js';
import { chatStream } from './chat.js';
import { HttpError } from './http-error.js';
import { openApiDocument } from './openapi.js';
import { ROUTES, type RouteSpec } from './routes.js';
import type { ChatBody, DecisionBody, EventsQuery, ListQuery, SendBody, StartBody } from './schemas.js';
import type { Principal, TokenTable } from './tokens.js';
import { contextOwner } from '../agents/memory-scope.js';

export interface ServeOptions {
  client: KeelClient;
  tokens: TokenTable;
  /** The workers' blob store: where the audit reads tool outputs. */
  blobs: BlobStore;
  /** Largest request body; default 1 MiB. */
  maxBodyBytes?: number;
}

type Input = { body?: unknown; query?: unknown };
type Handler = (
  c: Context,
  args: { client: KeelClient; principal: Principal; id: string } & Input,
) => Promise<Response>;

function parse(schema: z.ZodType, value: unknown, where: string): unknown {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new HttpError(400, `${where}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
}

async function readInput(c: Context, r: RouteSpec): Promise<Input> {
  const input: Input = {};
  if (r.query) input.query = parse(r.query, c.req.query(), 'query');
  if (r.body) {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw new HttpError(400, 'body: not valid JSON');
    }
    input.body = parse(r.body, body, 'body');
  }
  return input;
}

/** A decision problem from the run's validator, as the status a client can act on (by its type, not its words). */
function decisionStatus(err: DecisionError): 403 | 409 {
  return IDENTITY_PROBLEMS.includes(err.type) ? 403 : 409;
}

/** Throws WorkflowNotFoundError (a 404) for an unknown run; needs no worker, unlike a query. */
async function mustExist(client: KeelClient, id: string): Promise<void> {
  await client.temporal.workflow.getHandle(id).describe();
}

const handlers = (o: ServeOptions): Record<string, Handler> => ({
  async startRun(c, { client, principal, body }) {
    const b = body as z.infer<typeof StartBody>;
    // The token's tenant, never one the body claims: its context names no other (memory scopes and snapshot starts read it).
    const tenant = principal.tenant;
    const claimed = contextOwner(b.context).tenant;
    if (tenant !== undefined && claimed !== undefined && claimed !== tenant) {
      throw new HttpError(403, `${principal.name} starts runs of tenant ${tenant} only, not ${claimed}`);
    }
    const runId = await client.startRun(b.agent, b.input, {
      id: b.id,
      context: b.context,
      maxTurns: b.maxTurns,
      conversation: b.conversation,
      budget: b.budget,
      workspace: b.workspace,
      tenant,
    });
    return c.json({ runId }, 201);
  },
  async listRuns(c, { client, query }) {
    return c.json({ runs: await client.list(query as z.infer<typeof ListQuery>) });
  },
  async getRun(c, { client, id }) {
    return c.json(await client.getState(id));
  },
  async cancelRun(c, { client, id }) {
    await mustExist(client, id);
    await client.cancel(id);
    return c.json({ runId: id, cancelRequested: true });
  },
  async sendMessage(c, { client, id, body }) {
    return c.json(await client.sendInput(id, (body as z.infer<typeof SendBody>).text));
  },
  async chat(c, { client, id, body }) {
    return chatStream(c, client, id, body as z.infer<typeof ChatBody>);
  },
  async decide(c, { client, principal, id, body }) {
    const d = body as z.infer<typeof DecisionBody>;
    if (!principal.approveAs.includes('*') && !principal.approveAs.includes(d.approver)) {
      throw new HttpError(
        403,
        `${principal.name} may not decide as ${d.approver} (approveAs: ${principal.approveAs.join(', ') || 'none'})`,
      );
    }
    await mustExist(client, id);
    try {
      return c.json(await client.temporal.workflow.getHandle(id).executeUpdate(decideUpdate, { args: [d] }));
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError) || !err.cause) throw err;
      const refused = decisionError(err);
      throw new HttpError(refused instanceof DecisionError ? decisionStatus(refused) : 409, err.cause.message);
    }
  },
  async getAudit(c, { client, id }) {
    const doc = await auditRun(client.temporal, id, {
      blobs: o.blobs,
      dataConverter: client.temporal.options.dataConverter,
    });
    return c.json(doc);
  },
  async streamEvents(c, { client, id, query }) {
    const header = c.req.header('Last-Event-ID');
    const after =
      header !== undefined && /^\d+$/.test(header)
        ? Number(header)
        : ((query as z.infer<typeof EventsQuery>).after ?? 0);
    await mustExist(client, id); // 404 before the stream starts
    return streamSSE(c, async (stream) => {
      const abort = new AbortController();
      stream.onAbort(() => abort.abort());
      try {
        for await (const event of client.stream(id, { after, signal: abort.signal })) {
          // Only durable events carry an id: a client resumes from the last one it saw, deltas are not replayed.
          const durable = event.type !== 'delta' && event.type !== 'gap';
          await stream.writeSSE({
            event: event.type,
            data: JSON.stringify(event),
            ...(durable ? { id: String(event.seq) } : {}),
          });
        }
      } catch (err) {
        // The stream broke before the run ended: say so (a client resumes with Last-Event-ID) rather than end as if done.
        if (!abort.signal.aborted)
          await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: (err as Error).message }) });
      }
    });
  },
});

function toResponse(c: Context, err: unknown): Response {
  if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
  if (err instanceof WorkflowNotFoundError || (err as Error)?.name === 'WorkflowNotFoundError')
    return c.json({ error: `no run ${c.req.param('id') ?? ''}` }, 404);
  if (err instanceof KeelError && (err.code === 'bad_usage' || err.code === 'agent_not_found'))
    return c.json({ error: err.message }, 400);
  console.error(`keel serve: ${c.req.method} ${c.req.path}: ${(err as Error)?.stack ?? String(err)}`);
  return c.json({ error: 'internal error (see the server log)' }, 500);
}

export function serveApp(o: ServeOptions): Hono {
  const app = new Hono();
  const clients = new Map<string, KeelClient>();
  const clientFor = (p: Principal) =>
    clients.get(p.name) ?? clients.set(p.name, o.client.as(`keel-serve:${p.name}`)).get(p.name)!;
  const table = handlers(o);
  app.use(
    '*',
    bodyLimit({
      maxSize: o.maxBodyBytes ?? 1024 * 1024,
      onError: (c) => c.json({ error: `body over ${o.maxBodyBytes ?? 1024 * 1024} bytes` }, 413),
    }),
  );
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  for (const r of ROUTES) {
    app[r.method](r.path, async (c) => {
      try {
        const principal = o.tokens.authenticate(c.req.header('Authorization'));
        if (!principal) throw new HttpError(401, 'a bearer token is required (Authorization: Bearer <token>)');
        if (!principal.can.includes(r.scope))
          throw new HttpError(403, `${principal.name} may not ${r.scope} (it may: ${principal.can.join(', ')})`);
        const input = await readInput(c, r);
        return await table[r.name](c, {
          client: clientFor(principal),
          principal,
          id: c.req.param('id') ?? '',
          ...input,
        });
      } catch (err) {
        return toResponse(c, err);
      }
    });
  }
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
