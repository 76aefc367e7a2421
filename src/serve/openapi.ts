/** /openapi.json, generated from the route table and its zod schemas (OpenAPI 3.1 takes JSON Schema as is). */
import { z } from 'zod';
import { keelVersion } from '../version.js';
import { ROUTES, type RouteSpec } from './routes.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

function operation(r: RouteSpec) {
  const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = r.query
    ? Object.entries((json(r.query) as { properties?: Record<string, unknown> }).properties ?? {}).map(
        ([name, schema]) => ({ name, in: 'query', required: false, schema }),
      )
    : [];
  const ok =
    r.produces === 'json' || !r.produces
      ? { 'application/json': { schema: {} } }
      : { 'text/event-stream': { schema: { type: 'string' } } };
  const headers =
    r.produces === 'ui-message-stream'
      ? { headers: { 'x-vercel-ai-ui-message-stream': { schema: { type: 'string', const: 'v1' } } } }
      : {};
  return {
    operationId: r.name,
    summary: r.summary,
    'x-keel-scope': r.scope,
    parameters: [
      ...params,
      ...query,
      ...(r.produces === 'sse'
        ? [{ name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } }]
        : []),
    ],
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(r.body) } } } } : {}),
    responses: {
      200: {
        description: r.produces === 'ui-message-stream' ? 'An AI SDK UI message stream (protocol v1)' : 'OK',
        content: ok,
        ...headers,
      },
      400: { description: 'Malformed JSON or a schema violation (error names the path)' },
      401: { description: 'No or unknown bearer token' },
      403: { description: "The token's principal may not do this" },
      404: { description: 'No such run' },
      409: { description: 'A decision for a call that is not pending; a chat message to a run that has ended' },
      413: { description: 'Body over the configured cap' },
    },
  };
}

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[r.method] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keel',
      version: keelVersion,
      description: 'Start, follow and decide agent runs. Every route needs `Authorization: Bearer <token>`.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
