/**
 * The run's own spans (invoke_agent, turn, approval wait) and its telemetry sink calls. Spans are made with the
 * tracer Temporal's workflow interceptors register in the workflow sandbox and leave through the worker's sink;
 * the activity spans a step schedules become their children. Neither creates a command, so replay is unaffected;
 * Temporal does not call sinks while replaying, so nothing is counted or exported twice.
 */
import {
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { proxySinks } from '@temporalio/workflow';
import type { KeelSinks } from '../../observability/sinks.js';

const { keelTelemetry } = proxySinks<KeelSinks>();

/** What `fn` gets when no tracer is registered (a worker with tracing off): a span that records nothing. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Whether the workflow interceptors registered a tracer provider (bundles of workers with tracing on). */
function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('keel') !== undefined;
}

/**
 * Runs `fn` inside a span named `name`; a thrown error marks the span unless `expected(err)` says it is not one.
 * With tracing off, `fn` runs as it is: no-op span plumbing would only add promises, each of which costs the
 * workflow sandbox a stack trace.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  expected?: (err: unknown) => boolean,
): Promise<T> {
  if (!tracing()) return fn(NO_SPAN);
  return trace.getTracer('keel').startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      if (!expected?.(err))
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

export function reportStatus(agent: string, status: string): void {
  keelTelemetry.runStatus(agent, status);
}

export function reportDecision(
  agent: string,
  tool: string,
  decision: string,
  requestedAt: string,
  decidedAt: string,
): void {
  keelTelemetry.approvalDecided(agent, tool, decision, Math.max(0, Date.parse(decidedAt) - Date.parse(requestedAt)));
}
