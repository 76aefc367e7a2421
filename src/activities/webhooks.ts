/**
 * Delivering one webhook event to every endpoint that wants it, signed per Standard Webhooks: `webhook-id` (the
 * same on every attempt, so receivers drop repeats), `webhook-timestamp` (this attempt, in seconds: verifiers
 * refuse old ones) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 over `id.timestamp.body` with the
 * endpoint's key). Any endpoint failing fails the attempt, and the `keelWebhook` workflow retries it with backoff;
 * endpoints that took it already get it again with the same id.
 */
import { createHmac } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { AgentRegistry } from '../tools/registry.js';
import type { WebhookEndpoint, WebhookEvent } from '../agents/webhooks.js';
import type { SecretVault } from './secrets.js';
import { keelFailure } from '../failures.js';

export interface WebhookDelivery {
  /** The `webhook-id`: stable across attempts and retries. */
  id: string;
  type: WebhookEvent;
  agent: string;
  runId: string;
  /** When it happened (ISO), from the run. */
  at: string;
  data: Record<string, unknown>;
}

/** `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed by the base64 part of a `whsec_` secret. */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Where the Web UI shows a run: KEEL_WEB_UI_URL (default the dev server's http://localhost:8233). */
export function runLink(namespace: string, runId: string): string {
  const base = (process.env.KEEL_WEB_UI_URL ?? 'http://localhost:8233').replace(/\/$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(runId)}`;
}

export function webhookActivities(deps: { registry: AgentRegistry; vault: SecretVault }) {
  async function send(endpoint: WebhookEndpoint, delivery: WebhookDelivery, body: string): Promise<string | undefined> {
    const secret = await deps.vault.resolve(endpoint.secret);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'webhook-id': delivery.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': webhookSignature(secret, delivery.id, timestamp, body),
    };
    try {
      const res = await fetch(endpoint.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
      return res.ok ? undefined : `${endpoint.url} answered ${res.status}`;
    } catch (err) {
      return `${endpoint.url}: ${(err as Error).message}`;
    }
  }

  return {
    async deliverWebhook(delivery: WebhookDelivery): Promise<number> {
      const endpoints = deps.registry
        .webhooksFor(delivery.agent)
        .filter((e) => !e.events || e.events.includes(delivery.type));
      const info = Context.current().info;
      const namespace = info.workflowNamespace ?? info.activityNamespace;
      const payload = {
        type: delivery.type,
        timestamp: delivery.at,
        data: {
          runId: delivery.runId,
          agent: delivery.agent,
          link: runLink(namespace, delivery.runId),
          ...delivery.data,
        },
      };
      const body = JSON.stringify(payload);
      const failed = (await Promise.all(endpoints.map((e) => send(e, delivery, body)))).filter(Boolean);
      // Retryable: the workflow's policy backs off until the receivers are back (or its deadline passes).
      if (failed.length)
        throw keelFailure('WebhookUndelivered', `webhook ${delivery.id} not delivered: ${failed.join('; ')}`);
      return endpoints.length;
    },
  };
}
