/**
 * The routes of `keel serve`, defined once: method, path, the scope a token needs, the schema of its body or
 * query. The app registers them from this table and /openapi.json describes them from it.
 */
import type { z } from 'zod';
import type { Scope } from './tokens.js';
import { ChatBody, DecisionBody, EventsQuery, ListQuery, SendBody, StartBody } from './schemas.js';

export interface RouteSpec {
  name: string;
  method: 'get' | 'post';
  /** Hono path syntax (`:id`). */
  path: string;
  scope: Scope;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** `sse`: a text/event-stream of run events; `ui-message-stream`: the AI SDK UI message stream (v1). */
  produces?: 'json' | 'sse' | 'ui-message-stream';
}

export const ROUTES: RouteSpec[] = [
  {
    name: 'startRun',
    method: 'post',
    path: '/v1/runs',
    scope: 'start',
    summary: 'Start a run of an agent',
    body: StartBody,
  },
  {
    name: 'listRuns',
    method: 'get',
    path: '/v1/runs',
    scope: 'read',
    summary: 'List runs (search attributes)',
    query: ListQuery,
  },
  { name: 'getRun', method: 'get', path: '/v1/runs/:id', scope: 'read', summary: "A run's RunState" },
  { name: 'cancelRun', method: 'post', path: '/v1/runs/:id/cancel', scope: 'start', summary: 'Cancel a run' },
  {
    name: 'sendMessage',
    method: 'post',
    path: '/v1/runs/:id/messages',
    scope: 'start',
    summary: 'Send input to a conversation run',
    body: SendBody,
  },
  {
    name: 'chat',
    method: 'post',
    path: '/v1/runs/:id/chat',
    scope: 'start',
    summary:
      "Send an AI SDK chat request's last user message to a conversation run; the answer as an AI SDK UI message stream",
    body: ChatBody,
    produces: 'ui-message-stream',
  },
  {
    name: 'decide',
    method: 'post',
    path: '/v1/runs/:id/decisions',
    scope: 'decide',
    summary: 'Approve or reject a pending call',
    body: DecisionBody,
  },
  { name: 'getAudit', method: 'get', path: '/v1/runs/:id/audit', scope: 'read', summary: "The run's audit document" },
  {
    name: 'streamEvents',
    method: 'get',
    path: '/v1/runs/:id/events',
    scope: 'read',
    summary: 'Run events as Server-Sent Events (resume with Last-Event-ID)',
    query: EventsQuery,
    produces: 'sse',
  },
];
