/**
 * Temporal restart: the embedded dev server is stopped and started again on the same SQLite file and port while
 * runs are in flight (one waiting for an approval, one in the middle of a model call). The runs continue and
 * complete, their RunState loses no items, and the model is not asked again for answers recorded before the stop.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import OpenAI from 'openai';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { KeelClient } from '../../src/client.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/testing/scripted-model.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../../src/embedded/temporal.js';
import { LocalSnapshotStore } from '../../src/sandbox/snapshots.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';
import { createWorker, type KeelWorker } from '../../src/worker.js';
import { assertPaidOnce, atRest } from '../helpers/crash.js';
import { limitResults, waitFor, waitForStatus } from '../helpers/runs.js';
import { freePort } from '../../src/util/free-port.js';

/** Event ids and types of a history, to compare what was stored before and after the restart. */
function eventSummary(history: { events?: { eventId?: unknown; eventType?: unknown }[] | null }): string[] {
  return (history.events ?? []).map((e) => `${String(e.eventId)}:${String(e.eventType)}`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const deploy = tool({
  name: 'deploy',
  description: 'Deploys to an environment',
  parameters: z.object({ env: z.string() }),
  needsApproval: true,
  execute: ({ env }) => `deployed to ${env}`,
});
const waiter = new Agent({ name: 'restart_waiter', instructions: 'x', model: 'restart-waiter', tools: [deploy] });
const thinker = new Agent({ name: 'restart_thinker', instructions: 'x', model: 'restart-thinker', tools: [deploy] });

let model: ScriptedModelServer;
let dataDir: string;
before(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  model = await startScriptedModelServer();
  dataDir = mkdtempSync(path.join(tmpdir(), 'keel-restart-'));
});
after(async () => {
  await model?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('Temporal restart', () => {
  test('in-flight runs continue after the dev server restarts on the same SQLite file', async () => {
    model.setScript('restart-waiter', {
      steps: [
        { toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] },
        { message: 'deployed after the restart' },
      ],
    });
    model.setScript('restart-thinker', { steps: [{ message: 'thought', delayMs: 4_000 }] });
    const dbFile = path.join(dataDir, 'temporal.sqlite');
    const port = await freePort();
    const start = () => startEmbeddedTemporal({ dbFile, port, uiPort: null });
    const openai = new OpenAI({ apiKey: 'test', baseURL: model.baseURL, maxRetries: 0 });
    const queue = `restart-${Date.now().toString(36)}`;
    const connect = async () => {
      const connection = await NativeConnection.connect({ address: `127.0.0.1:${port}` });
      const clientConnection = await Connection.connect({ address: `127.0.0.1:${port}` });
      const worker = await createWorker({
        agents: [waiter, thinker],
        connection,
        taskQueue: queue,
        openai,
        modelApi: 'responses',
        sandboxes: false,
        blobs: new LocalBlobStore(path.join(dataDir, 'blobs')),
        snapshots: new LocalSnapshotStore(path.join(dataDir, 'snapshots')),
        memory: new LocalMemoryStore(path.join(dataDir, 'memory')),
        reapIntervalMs: 0,
      });
      const running = worker.run();
      running.catch(() => undefined);
      return {
        connection,
        clientConnection,
        worker,
        running,
        client: limitResults(new KeelClient(new Client({ connection: clientConnection }), queue)),
      };
    };
    const close = async (s: {
      connection: NativeConnection;
      clientConnection: Connection;
      worker: KeelWorker;
      running: Promise<void>;
    }) => {
      s.worker.shutdown();
      const outcome = await s.running.then(
        () => 'stopped',
        (err: unknown) => `failed: ${String(err)}`,
      );
      await s.clientConnection.close();
      await s.connection.close();
      return outcome;
    };

    let env: EmbeddedTemporal = await start();
    let up = true;
    const stack = await connect();
    let workerOutcome = '';
    try {
      const waiting = await stack.client.startRun(waiter, 'deploy prod');
      const before = await waitFor('the run to wait for approval, at rest', async () => {
        const s = await waitForStatus(stack.client, waiting, 'awaiting_approval');
        return (await atRest(stack.client, waiting)) ? s : undefined;
      });
      const eventsBefore = eventSummary(await stack.client.temporal.workflow.getHandle(waiting).fetchHistory());
      const thinking = await stack.client.startRun(thinker, 'think');
      await waitFor('the slow model call to be in flight', () => model.stats('restart-thinker').requests >= 1);
      const requestedAt = Date.now();

      const t0 = Date.now();
      await env.teardown();
      up = false;
      assert.equal(await portOpen(port), false, 'the server is down');
      // Stay down until the model has answered: the worker has to hold that result until the server is back.
      await waitFor('the slow model call to be answered', () => Date.now() - requestedAt > 4_500, 10_000);
      env = await start();
      up = true;
      const downMs = Date.now() - t0;

      // The worker's NativeConnection and the client's Connection reconnect on their own: the same objects go on.
      const afterRestart = await waitFor('the state query to work again', () => stack.client.getState(waiting), 60_000);
      assert.deepEqual(afterRestart, before, 'the waiting run lost nothing');
      const eventsAfter = eventSummary(await stack.client.temporal.workflow.getHandle(waiting).fetchHistory());
      assert.deepEqual(
        eventsAfter.slice(0, eventsBefore.length),
        eventsBefore,
        'the history survived in the SQLite file',
      );

      await stack.client.approve(waiting, before.pendingApprovals[0].callId, { by: 'ann' });
      const [waited, thought] = await Promise.all([stack.client.result(waiting), stack.client.result(thinking)]);
      assert.equal(waited.finalOutput, 'deployed after the restart');
      assert.equal(thought.finalOutput, 'thought');
      console.log(
        `[temporal-restart] server down ${downMs} ms; runs completed ${Date.now() - t0} ms after the stop; ` +
          `the model call in flight during the stop was requested ${model.stats('restart-thinker').requests} time(s)`,
      );

      const state = await stack.client.getState(waiting);
      assert.deepEqual(state.items.slice(0, before.items.length), before.items);
      const added = state.items.slice(before.items.length);
      assert.deepEqual(
        added.map((i) => i.type),
        ['approval', 'tool_result', 'message'],
        JSON.stringify(added),
      );
      assert.match(JSON.stringify(added[0]), /"approver":"ann"/);
      assertPaidOnce(model.stats('restart-waiter'), 2);
    } finally {
      workerOutcome = await close(stack);
      if (up) await env.teardown();
    }
    assert.equal(workerOutcome, 'stopped', 'the worker survived the restart without being recreated');
  });
});
