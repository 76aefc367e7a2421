/**
 * Worker metrics in the Prometheus text format: runs by status, model tokens, tool calls and approval wait time.
 * Each worker has its own registry (two workers in one process do not collide); `startMetricsServer` serves it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lazyModule } from '../util/lazy-module.js';

/** prom-client, loaded only by a worker that serves metrics. */
const prom = lazyModule<typeof import('prom-client')>('prom-client');

export class KeelMetrics {
  readonly registry = new (prom().Registry)();
  readonly runs = new (prom().Counter)({
    name: 'keel_runs_total',
    help: 'Runs that reached a status on this worker (started, awaiting_approval, completed, failed, cancelled)',
    labelNames: ['agent', 'status'] as const,
    registers: [this.registry],
  });
  readonly tokens = new (prom().Counter)({
    name: 'keel_model_tokens_total',
    help: 'Model tokens used by calls this worker made',
    labelNames: ['agent', 'model', 'type'] as const,
    registers: [this.registry],
  });
  readonly modelCalls = new (prom().Counter)({
    name: 'keel_model_calls_total',
    help: 'Model calls this worker made, by outcome',
    labelNames: ['agent', 'model', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly toolCalls = new (prom().Counter)({
    name: 'keel_tool_calls_total',
    help: 'Tool calls this worker ran, by outcome (ok, error: the tool reported an error, failed: the activity failed)',
    labelNames: ['agent', 'tool', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly approvalWait = new (prom().Histogram)({
    name: 'keel_approval_wait_seconds',
    help: 'Time from an approval request to its decision',
    labelNames: ['agent', 'tool', 'decision'] as const,
    buckets: [1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) prom().collectDefaultMetrics({ register: this.registry, prefix: 'keel_worker_' });
  }

  /** Counts what a finished activity reports (tokens, tool outcome). */
  observeActivity(activity: string, input: unknown, result: unknown, failed: boolean): void {
    if (activity === 'callModel' || activity === 'compactConversation') {
      const i = input as { spec?: { name: string; model: string }; specRef?: { agent: string; model: string } };
      const labels = {
        agent: i.specRef?.agent ?? i.spec?.name ?? 'unknown',
        model: i.specRef?.model ?? i.spec?.model ?? 'unknown',
      };
      this.modelCalls.inc({ ...labels, outcome: failed ? 'failed' : 'ok' });
      const usage = (result as { usage?: { inputTokens: number; outputTokens: number } } | undefined)?.usage;
      if (usage) {
        this.tokens.inc({ ...labels, type: 'input' }, usage.inputTokens);
        this.tokens.inc({ ...labels, type: 'output' }, usage.outputTokens);
      }
    } else if (activity === 'runTool') {
      const i = input as { agent: string; call: { name: string } };
      const outcome = failed ? 'failed' : (result as { isError?: boolean }).isError ? 'error' : 'ok';
      this.toolCalls.inc({ agent: i.agent, tool: i.call.name, outcome });
    }
  }
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` on 127.0.0.1 (or `host`); port 0 picks a free one. */
export async function startMetricsServer(
  metrics: KeelMetrics,
  port: number,
  host = process.env.KEEL_METRICS_HOST ?? '127.0.0.1',
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found; metrics are at /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `KEEL_METRICS_PORT` as a port number, undefined when unset; one clear error when it is not a port. */
export function metricsPortFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.KEEL_METRICS_PORT;
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`KEEL_METRICS_PORT must be a port number (0-65535), not '${raw}'`);
  return port;
}
