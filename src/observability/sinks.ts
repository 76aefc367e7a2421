/**
 * The sink the workflow reports run-level telemetry through (run status changes, approval decisions). Types
 * only, so workflow code can import it; the worker side is `telemetrySinks` in instrument.ts. Temporal does not
 * call sinks while replaying, so a replayed status change is not counted twice.
 */
import type { Sink, Sinks } from '@temporalio/workflow';

export interface KeelTelemetrySink extends Sink {
  runStatus(agent: string, status: string): void;
  approvalDecided(agent: string, tool: string, decision: string, waitMs: number): void;
}

export interface KeelSinks extends Sinks {
  keelTelemetry: KeelTelemetrySink;
}
