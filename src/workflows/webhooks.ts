/**
 * Webhook events out of a run, durably: each event is a `keelWebhook` workflow of its own (id = the webhook-id,
 * so an event is started once however often the run's task is retried), abandoned by the run, which never waits
 * for a receiver. It retries delivery with backoff for up to a day: a receiver down for an hour gets the event when
 * it is back, with the same webhook-id.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { WebhookDelivery } from '../activities/webhooks.js';
import type { WebhookEvent } from '../agents/webhooks.js';
import type { Activities } from './activities.js';
import type { Run } from './run/run.js';
import { nowIso } from './run/run.js';

export const WEBHOOK_WORKFLOW_TYPE = 'keelWebhook';

const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export async function keelWebhook(event: WebhookDelivery): Promise<number> {
  return delivery.deliverWebhook.executeWithOptions({ summary: `webhook ${event.type}` }, [event]);
}

/** Emits `type` when some endpoint of the run's agent wants it; `key` makes the webhook-id unique in the run. */
export async function emitWebhook(
  run: Run,
  type: WebhookEvent,
  key: string,
  data: Record<string, unknown>,
): Promise<void> {
  if (!run.spec?.webhookEvents?.includes(type)) return;
  const id = `${run.workflowId}/webhook/${type}/${key}`;
  const event: WebhookDelivery = { id, type, agent: run.spec.name, runId: run.workflowId, at: nowIso(), data };
  try {
    await startChild(keelWebhook, {
      workflowId: id,
      args: [event],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${type} · ${run.spec.name}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
