/**
 * The workflow interceptors the bundler adds to every workflow: Temporal's OpenTelemetry interceptors for the
 * run itself (RunWorkflow span, continuing the caller's trace) and for what it schedules (StartActivity spans,
 * whose context reaches the activities through headers). Not its message-handler tracing: its async wrapper
 * around update handlers completes an update a few microtasks later than plain code does, which reorders
 * commands against histories recorded without it (a nondeterminism error on replay).
 */
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import type {
  Next,
  WorkflowExecuteInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
} from '@temporalio/workflow';

class RunSpanInterceptor implements WorkflowInboundCallsInterceptor {
  private readonly otel = new OpenTelemetryInboundInterceptor();

  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    return this.otel.execute(input, next);
  }
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new RunSpanInterceptor()],
  outbound: [new OpenTelemetryOutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
