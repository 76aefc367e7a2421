/**
 * OpenTelemetry tracing for Keel workers: one tracer provider per process, exporting over OTLP/HTTP as the
 * standard `OTEL_*` variables say (on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * is set), plus Temporal's interceptors so Keel's spans sit inside the workflow and activity spans of a run.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { siblingModule } from '../module-path.js';
import { lazyModule } from '../util/lazy-module.js';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions.js';

export const TRACER_NAME = 'keel';

// The OpenTelemetry SDK and exporter, loaded only by a worker with tracing on.
const otlp = lazyModule<typeof import('@opentelemetry/exporter-trace-otlp-http')>(
  '@opentelemetry/exporter-trace-otlp-http',
);
const resources = lazyModule<typeof import('@opentelemetry/resources')>('@opentelemetry/resources');
const sdkBase = lazyModule<typeof import('@opentelemetry/sdk-trace-base')>('@opentelemetry/sdk-trace-base');
const sdkNode = lazyModule<typeof import('@opentelemetry/sdk-trace-node')>('@opentelemetry/sdk-trace-node');
const conventions = lazyModule<typeof import('@opentelemetry/semantic-conventions')>(
  '@opentelemetry/semantic-conventions',
);
const temporalOtel = lazyModule<typeof import('@temporalio/interceptors-opentelemetry')>(
  '@temporalio/interceptors-opentelemetry',
);

/** The module the workflow bundler adds to every workflow: Temporal's workflow span interceptors, replay-safe. */
export const WORKFLOW_INTERCEPTOR_MODULE = siblingModule(import.meta.url, '../workflows/tracing-interceptors.js');

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) &&
    env.OTEL_SDK_DISABLED !== 'true'
  );
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
  const { Resource, envDetectorSync } = resources();
  const resource = new Resource({ [conventions().ATTR_SERVICE_NAME]: serviceName }).merge(envDetectorSync.detect());
  // The exporter reads the OTEL_EXPORTER_OTLP_* endpoint, headers and timeout itself; the batch processor OTEL_BSP_*.
  const processor = new (sdkBase().BatchSpanProcessor)(new (otlp().OTLPTraceExporter)());
  const provider = new (sdkNode().NodeTracerProvider)({ resource, spanProcessors: [processor] });
  provider.register(); // the async-local context manager, so activity code sees the activity's span as active
  const tracer = trace.getTracer(TRACER_NAME);
  return {
    enabled: true,
    tracer,
    interceptors: activityInterceptors(tracer),
    sinks: { exporter: temporalOtel().makeWorkflowExporter(processor, resource) },
    flush: () => provider.forceFlush(),
  };
}

function disabledTracing(): Tracing {
  return {
    enabled: false,
    tracer: trace.getTracer(TRACER_NAME),
    interceptors: {},
    // A bundle made with tracing (a shared one) may still call the exporter sink; with tracing off spans go nowhere.
    sinks: { exporter: { export: { fn: () => undefined } } },
    flush: async () => undefined,
  };
}

function activityInterceptors(tracer: Tracer): WorkerInterceptors {
  return {
    activity: [
      (ctx) => ({
        inbound: new (temporalOtel().OpenTelemetryActivityInboundInterceptor)(ctx, { tracer }),
        outbound: new (temporalOtel().OpenTelemetryActivityOutboundInterceptor)(ctx),
      }),
    ],
  };
}
