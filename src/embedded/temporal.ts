/**
 * The embedded Temporal dev server: the official `temporal` CLI started through @temporalio/testing, with the
 * Web UI, Keel's search attributes registered, and a SQLite file so runs survive restarts.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { KEEL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { keelPaths } from '../util/paths.js';

/** The `temporal` binary: TEMPORAL_CLI_PATH, then the one set-up placed under .keel/bin, then PATH. */
export function findTemporalCli(): string | undefined {
  const candidates = [process.env.TEMPORAL_CLI_PATH, keelPaths.temporalBin()];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'temporal'));
  return candidates.find((c): c is string => Boolean(c) && existsSync(c!));
}

export interface EmbeddedTemporalOptions {
  /** SQLite file; `null` for an in-memory server (tests). Default .keel/temporal.sqlite. */
  dbFile?: string | null;
  port?: number;
  /** Web UI port; default 8233. `null` turns the UI off. */
  uiPort?: number | null;
  namespace?: string;
  /** The Web UI decodes payloads through this codec server (`keel codec-server`). */
  uiCodecEndpoint?: string;
}

export async function startEmbeddedTemporal(options: EmbeddedTemporalOptions = {}): Promise<TestWorkflowEnvironment> {
  const cli = findTemporalCli();
  const dbFile = options.dbFile === undefined ? keelPaths.temporalDb() : options.dbFile;
  if (dbFile) await mkdir(path.dirname(dbFile), { recursive: true });
  const uiPort = options.uiPort === undefined ? 8233 : options.uiPort;
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
      ip: '127.0.0.1',
      port: options.port,
      namespace: options.namespace ?? 'default',
      ...(dbFile ? { dbFilename: dbFile } : {}),
      ...(uiPort !== null ? { ui: true, uiPort } : { ui: false }),
      searchAttributes: KEEL_SEARCH_ATTRIBUTES,
      // Eager activity execution hands an activity to the worker that scheduled it without a poll round trip.
      extraArgs: [
        ...['--log-level', 'error', '--dynamic-config-value', 'system.enableActivityEagerExecution=true'],
        ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
      ],
    },
  });
}
