/**
 * Reading a serialized RunState (the client reading the `runState` query, `keel resume`): migrated to the current
 * version (run-state.ts), then checked against its schema (run-state-schema.ts). Outside the workflow bundle (zod).
 */
import { migrateRunState, READABLE_RUN_STATE_VERSIONS, type StoredRunState } from './run-state.js';
import { RunStateSchema, type RunState } from './run-state-schema.js';

/** Parses a serialized RunState of any readable version (migrated to the current one); one clear error for others. */
export function parseRunState(json: unknown): RunState {
  const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version !== 'number' || !READABLE_RUN_STATE_VERSIONS.includes(version)) {
    const readable = READABLE_RUN_STATE_VERSIONS.join(', ');
    throw new Error(
      `RunState schemaVersion ${JSON.stringify(version)} is not readable by this Keel (reads ${readable})`,
    );
  }
  return RunStateSchema.parse(migrateRunState(json as StoredRunState));
}
