/**
 * OpenTelemetry tracing for Keel workers: one tracer provider per process, exporting over OTLP/HTTP as the
 * standard `OTEL_*` variables say (on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * is set), plus Temporal's interceptors so Keel's spans sit inside the workflow and activity spans of a run.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { siblingModule } from '../module-path.js';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions.js';

export const TRACER_NAME = 'keel';

/** The module the workflow bundler adds to every workflow: Temporal's workflow span interceptors, replay-safe. */
export const WORKFLOW_INTERCEPTOR_MODULE = siblingModule(import.meta.url, '../workflows/tracing-interceptors.js');

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== 'true';
}

export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Worker interceptors that continue the workflow's trace into each activity. */
  readonly interceptors: WorkerInterceptors;
  /** The sink the workflow interceptors export workflow spans through. */
  readonly sinks: InjectedSinks<OpenTelemetrySinks>;
  /** Sends buffered spans now (worker shutdown, tests). */
  flush(): Promise<void>;
}

let shared: Tracing | undefined;

/** The process's tracing, set up once from the environment (a second worker in the process shares it). */
export function setupTracing(serviceName = 'keel-worker'): Tracing {
  shared ??= tracingEnabled() ? liveTracing(serviceName) : disabledTracing();
  return shared;
}

function liveTracing(serviceName: string): Tracing {
  const resource = new Resource({ [ATTR_SERVICE_NAME]: serviceName }).merge(envDetectorSync.detect());
  // The exporter reads the OTEL_EXPORTER_OTLP_* endpoint, headers and timeout itself; the batch processor OTEL_BSP_*.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register(); // the async-local context manager, so activity code sees the activity's span as active
  const tracer = trace.getTracer(TRACER_NAME);
  return {
    enabled: true,
    tracer,
    interceptors: activityInterceptors(tracer),
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    flush: () => provider.forceFlush(),
  };
}

function disabledTracing(): Tracing {
  const noop: SpanProcessor = new NoopSpanProcessor();
  return {
    enabled: false,
    tracer: trace.getTracer(TRACER_NAME),
    interceptors: {},
    // The workflow interceptors are in every bundle; with tracing off their spans go nowhere.
    sinks: { exporter: makeWorkflowExporter(noop, Resource.empty()) },
    flush: async () => undefined,
  };
}

function activityInterceptors(tracer: Tracer): WorkerInterceptors {
  return {
    activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
  };
}
