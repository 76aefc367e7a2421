/**
 * The run's own spans (invoke_agent, turn, approval wait) and its telemetry sink calls. Spans are made with the
 * tracer Temporal's workflow interceptors register in the workflow sandbox and leave through the worker's sink;
 * the activity spans a step schedules become their children. Neither creates a command, so replay is unaffected;
 * Temporal does not call sinks while replaying, so nothing is counted or exported twice.
 */
import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { proxySinks } from '@temporalio/workflow';
import type { KeelSinks } from '../../observability/sinks.js';

const { keelTelemetry } = proxySinks<KeelSinks>();

/** Runs `fn` inside a span named `name`; a thrown error marks the span unless `expected(err)` says it is not one. */
export function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, expected?: (err: unknown) => boolean): Promise<T> {
  return trace.getTracer('keel').startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      if (!expected?.(err)) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

export function reportStatus(agent: string, status: string): void {
  keelTelemetry.runStatus(agent, status);
}

export function reportDecision(agent: string, tool: string, decision: string, requestedAt: string, decidedAt: string): void {
  keelTelemetry.approvalDecided(agent, tool, decision, Math.max(0, Date.parse(decidedAt) - Date.parse(requestedAt)));
}
