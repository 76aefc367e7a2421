/**
 * How a local activity shows in a run's history: not as activity events but as a marker the SDK's core records
 * (`core_local_activity`), holding its type in the marker's data and its result (or failure).
 */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** Whether a history event's marker records a local activity that completed. */
export function isCompletedLocalActivity(
  marker: { markerName?: string | null; failure?: unknown } | null | undefined,
): boolean {
  return marker?.markerName === LOCAL_ACTIVITY_MARKER && !marker.failure;
}
