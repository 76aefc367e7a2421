/**
 * Replay safety: the recorded histories of representative runs (test/fixtures/histories, written by
 * scripts/record-histories.ts) replay against the current workflow bundle (with and without tracing) without nondeterminism, so a workflow
 * change that would break runs in flight fails here instead of in production.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowBundle } from '../../src/worker.js';
import { historyFromObject } from '../helpers/history.js';

const DIR = path.resolve(import.meta.dirname, '..', 'fixtures', 'histories');

test('recorded histories replay on the current workflow code', async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  assert.ok(files.length >= 4, `expected recorded histories in ${DIR}; run npm run record-histories`);
  const histories = files.map((f) => ({
    workflowId: f,
    history: historyFromObject(JSON.parse(readFileSync(path.join(DIR, f), 'utf8'))),
  }));
  const failures: string[] = [];
  let replayed = 0;
  // Workers with tracing on bundle the OpenTelemetry interceptors, workers with it off do not: both must replay.
  for (const tracing of [true, false]) {
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle({ tracing }) }, histories)) {
      replayed++;
      if (r.error)
        failures.push(`${r.workflowId} (tracing ${tracing ? 'on' : 'off'}): ${r.error.name}: ${r.error.message}`);
    }
  }
  assert.equal(replayed, 2 * files.length);
  assert.deepEqual(failures, [], `these recorded runs would break on this workflow code:\n${failures.join('\n')}`);
});
