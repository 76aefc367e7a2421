/**
 * A Keel worker in a process of its own, so a test can really kill it (SIGKILL) and start another. Run with
 * `node --import tsx test/helpers/worker-process.ts`; configured by environment (see spawn-worker.ts, which
 * sets it): TEMPORAL_ADDRESS, KEEL_TASK_QUEUE, KEEL_HOST_ID, OPENAI_BASE_URL (the scripted model), KEEL_DATA_DIR
 * (blobs, snapshots and memory shared with the other workers), KEEL_TEST_AGENTS (a module exporting `agents`),
 * and optionally KEEL_WORKFLOW_BUNDLE (a prebuilt workflow bundle, so each process does not bundle again) and
 * KEEL_CRASH_POINT. Prints READY_LINE once both of its Temporal workers poll.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import OpenAI from 'openai';
import type { Agent } from '../../src/agents/agent.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { localStores, storesFromEnv } from '../../src/storage/config.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';
import { createWorker } from '../../src/worker.js';
import { READY_LINE } from './spawn-worker.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`worker-process: ${name} must be set`);
  return value;
}

async function main() {
  const address = required('TEMPORAL_ADDRESS');
  const taskQueue = required('KEEL_TASK_QUEUE');
  const hostId = required('KEEL_HOST_ID');
  const baseURL = required('OPENAI_BASE_URL');
  const dataDir = required('KEEL_DATA_DIR');
  const agentsModule = required('KEEL_TEST_AGENTS');
  const bundlePath = process.env.KEEL_WORKFLOW_BUNDLE;

  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const { agents } = (await import(path.resolve(agentsModule))) as { agents: Agent[] };
  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await createWorker({
      agents,
      connection,
      taskQueue,
      hostId,
      openai: new OpenAI({ apiKey: 'test', baseURL, maxRetries: 0 }),
      modelApi: 'responses',
      sandboxes: new DockerSandboxClient(),
      // KEEL_STORE (s3://...) shares blobs and snapshots between hosts; otherwise they live in the data directory.
      ...(process.env.KEEL_STORE ? storesFromEnv() : localStores(dataDir)),
      memory: new LocalMemoryStore(path.join(dataDir, 'memory')),
      ...(bundlePath ? { workflowBundle: { code: readFileSync(bundlePath, 'utf8') } } : {}),
      reapIntervalMs: 0,
    });
    const running = worker.run();
    console.log(`${READY_LINE} pid=${process.pid} hostQueue=${worker.hostQueue}`);
    await running;
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
