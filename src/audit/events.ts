/**
 * A run's Temporal history reduced to what an audit needs, with payloads decoded: the input of the audit
 * builder (build.ts), which is pure over these events.
 */
export type HistoryEvent =
  | { kind: 'started'; at: string; runId: string; input: unknown; continuedFrom?: string; identity?: string }
  | { kind: 'activity_scheduled'; eventId: number; at: string; activity: string; input: unknown; summary?: string }
  | { kind: 'activity_completed'; scheduledEventId: number; at: string; result: unknown }
  | { kind: 'activity_failed'; scheduledEventId: number; at: string; error: AuditError; retryState?: string }
  | { kind: 'local_activity'; at: string; activity: string; result: unknown }
  | { kind: 'signal'; at: string; name: string; input: unknown; identity?: string }
  | { kind: 'update_accepted'; at: string; name: string; input: unknown; identity?: string; updateId?: string }
  | { kind: 'search_attributes'; at: string; status?: string; agent?: string }
  | { kind: 'cancel_requested'; at: string; identity?: string; cause?: string }
  | { kind: 'child_started'; eventId: number; at: string; runId: string; input: unknown }
  | {
      kind: 'child_closed';
      initiatedEventId: number;
      at: string;
      outcome: Exclude<ClosedOutcome, 'continued_as_new'>;
      error?: AuditError;
    }
  | { kind: 'closed'; at: string; outcome: ClosedOutcome; result?: unknown; error?: AuditError; details?: unknown[] };

export type ClosedOutcome = 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'continued_as_new';

export interface AuditError {
  message: string;
  type?: string;
}
