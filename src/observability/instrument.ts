/**
 * Wraps every activity in a span (named per the GenAI conventions, see activity-spans.ts) and counts it in the
 * worker's metrics; and the worker side of the workflow's telemetry sink.
 */
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { InjectedSinks } from '@temporalio/worker';
import { activitySpan, resultAttributes } from './activity-spans.js';
import type { KeelMetrics } from './metrics.js';
import type { KeelSinks } from './sinks.js';

type AnyActivity = (...args: never[]) => Promise<unknown>;

export function instrumentActivities<T extends Record<string, AnyActivity>>(
  activities: T,
  tracer: Tracer,
  metrics?: KeelMetrics,
): T {
  const wrap =
    (name: string, fn: AnyActivity) =>
    async (...args: never[]) => {
      const shape = activitySpan(name, args[0]);
      return tracer.startActiveSpan(
        shape.name,
        { kind: name === 'callModel' ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes: shape.attributes },
        async (span) => {
          try {
            const result = await fn(...args);
            span.setAttributes(resultAttributes(name, result));
            metrics?.observeActivity(name, args[0], result, false);
            return result;
          } catch (err) {
            span.recordException(err as Error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
            metrics?.observeActivity(name, args[0], undefined, true);
            throw err;
          } finally {
            span.end();
          }
        },
      );
    };
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, wrap(name, fn)])) as T;
}

/** The worker side of the workflow's `keelTelemetry` sink: run statuses and approval waits into the metrics. */
export function telemetrySinks(metrics: KeelMetrics | undefined): InjectedSinks<KeelSinks> {
  return {
    keelTelemetry: {
      runStatus: { fn: (_info, agent, status) => metrics?.runs.inc({ agent, status }) },
      approvalDecided: {
        fn: (_info, agent, tool, decision, waitMs) =>
          metrics?.approvalWait.observe({ agent, tool, decision }, waitMs / 1000),
      },
    },
  };
}
