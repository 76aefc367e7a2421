/**
 * The embedded default stack behind `keel dev` and `keel demo`: a Temporal dev server (unless TEMPORAL_ADDRESS
 * is set), the scripted model server (unless OPENAI_API_KEY is set), and a Keel worker.
 */
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { connectWorker, temporalConfigured, temporalTarget } from '../connection.js';
import OpenAI from 'openai';
import type { Agent } from '../agents/agent.js';
import { KeelClient } from '../client.js';
import type { SandboxTierClients } from '../sandbox/tiers.js';
import { createWorker, type KeelWorker } from '../worker.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from './temporal.js';
import { codecFromEnv, dataConverterFor } from '../codec.js';
import { startCodecServer } from '../codec-server.js';

export interface DevStack {
  client: KeelClient;
  worker: KeelWorker;
  /** Temporal frontend address. */
  address: string;
  /** Web UI base URL, when the embedded server runs it. */
  uiUrl?: string;
  model?: DevModel;
  runWorker: Promise<void>;
  close(): Promise<void>;
}

/** A model endpoint the stack uses instead of OpenAI when OPENAI_API_KEY is unset (the testing kit's scripted model). */
export interface DevModel {
  baseURL: string;
  close(): Promise<void>;
}

export interface DevStackOptions {
  agents: Agent[];
  /** The Web UI decodes payloads through this codec server. */
  uiCodecEndpoint?: string;
  /** Started only when OPENAI_API_KEY is unset. */
  offlineModel?: () => Promise<DevModel>;
  /** Say what starts, one line each. */
  log?: (line: string) => void;
  /** The worker's sandbox tiers (`keel dev --sandboxes docker,microvm`); default Docker alone. */
  sandboxes?: SandboxTierClients;
}

export function webUiLink(uiUrl: string, runId: string, namespace = 'default'): string {
  return `${uiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(runId)}`;
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const log = options.log ?? (() => undefined);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  let env: EmbeddedTemporal | undefined;
  let target = temporalTarget();
  const codec = codecFromEnv();
  const codecServer = codec && !options.uiCodecEndpoint ? await startCodecServer({ codec }) : undefined;
  if (codecServer) log(`payloads are encrypted (KEEL_CODEC_KEY); the Web UI decodes them through ${codecServer.url}`);
  if (!temporalConfigured()) {
    log('starting the embedded Temporal dev server (SQLite in .keel/, Web UI on http://localhost:8233) ...');
    env = await startEmbeddedTemporal({ port: 7233, uiCodecEndpoint: options.uiCodecEndpoint ?? codecServer?.url });
    target = temporalTarget({ address: env.address });
  }
  const address = target.connection.address;
  let model: DevModel | undefined;
  let openai: OpenAI | undefined;
  if (!process.env.OPENAI_API_KEY && options.offlineModel) {
    model = await options.offlineModel();
    openai = new OpenAI({ apiKey: 'scripted', baseURL: model.baseURL, maxRetries: 0 });
    log(`OPENAI_API_KEY is not set: using the scripted model server at ${model.baseURL}`);
  }
  const connection = await connectWorker(target);
  const worker = await createWorker({
    agents: options.agents,
    connection,
    namespace: target.namespace,
    openai,
    codec: codec ?? false,
    sandboxes: options.sandboxes,
  });
  log(`worker polling task queue '${worker.taskQueue}' (sandbox queue '${worker.hostQueue}')`);
  const runWorker = worker.run();
  const client = new KeelClient(
    new Client({ connection, namespace: target.namespace, dataConverter: dataConverterFor(codec) }),
    worker.taskQueue,
  );
  return {
    client,
    worker,
    address,
    uiUrl: env?.uiUrl,
    model,
    runWorker,
    async close() {
      worker.shutdown();
      await runWorker;
      await connection.close();
      await model?.close();
      await env?.teardown();
      await codecServer?.close();
    },
  };
}
