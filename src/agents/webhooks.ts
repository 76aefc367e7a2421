/**
 * Webhooks: who is told when something happens in a run. An endpoint is a URL and a Standard Webhooks signing
 * secret (`whsec_<base64>`, or `secret('NAME')` holding one); configured per agent (`webhooks` option) or per worker
 * (`createWorker({ webhooks })`). Only the event names reach the AgentSpec (so history): never a URL or secret.
 */
import type { MaybeSecret } from './secret.js';

export const WEBHOOK_EVENTS = ['approval.requested', 'run.completed', 'run.failed', 'budget.exceeded'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEndpoint {
  url: string;
  /** `whsec_` + base64 of the key (as Standard Webhooks libraries generate), or `secret('NAME')` holding it. */
  secret: MaybeSecret;
  /** Default: every event. */
  events?: WebhookEvent[];
}

/** The events any of `endpoints` wants, in a stable order (what the run emits). */
export function subscribedEvents(endpoints: WebhookEndpoint[]): WebhookEvent[] {
  return WEBHOOK_EVENTS.filter((e) => endpoints.some((p) => !p.events || p.events.includes(e)));
}
