/**
 * A real Jaeger (v2 binary, in-memory storage) for tracing tests: built by scripts/ensure-jaeger.sh, started on
 * loopback on free ports with its own query tracing off, read back through its HTTP query API, stopped by PID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../src/util/free-port.js';
import { waitFor } from './runs.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

const CONFIG = `
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [jaeger_storage_exporter]}}
  telemetry: {metrics: {level: none}, logs: {level: warn}}
extensions:
  healthcheckv2: {use_v2: true, http: {endpoint: "127.0.0.1:\${env:JAEGER_HEALTH_PORT}"}}
  jaeger_query:
    enable_tracing: false
    storage: {traces: mem}
    http: {endpoint: "127.0.0.1:\${env:JAEGER_QUERY_PORT}"}
    grpc: {endpoint: "127.0.0.1:\${env:JAEGER_QUERY_GRPC_PORT}"}
  jaeger_storage: {backends: {mem: {memory: {max_traces: 10000}}}}
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:\${env:JAEGER_OTLP_GRPC_PORT}"}, http: {endpoint: "127.0.0.1:\${env:JAEGER_OTLP_HTTP_PORT}"}}}
processors: {batch: {timeout: 100ms}}
exporters: {jaeger_storage_exporter: {trace_storage: mem}}
`;

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
  startTime: number;
  duration: number;
}

export interface Jaeger {
  /** OTLP/HTTP traces endpoint (the value of OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  otlpTracesUrl: string;
  queryUrl: string;
  /** Traces of `service` (each a list of spans). */
  traces(service: string): Promise<JaegerSpan[][]>;
  stop(): Promise<void>;
}

export async function startJaeger(): Promise<Jaeger> {
  const binary = execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-jaeger.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-jaeger-'));
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, CONFIG);
  const ports = {
    JAEGER_HEALTH_PORT: 0,
    JAEGER_QUERY_PORT: 0,
    JAEGER_QUERY_GRPC_PORT: 0,
    JAEGER_OTLP_GRPC_PORT: 0,
    JAEGER_OTLP_HTTP_PORT: 0,
  };
  for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
  const env = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  const child: ChildProcess = spawn(binary, ['--config', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const queryUrl = `http://127.0.0.1:${ports.JAEGER_QUERY_PORT}`;
  await waitFor(`jaeger to answer on ${queryUrl} (log: ${log})`, async () => {
    if (child.exitCode !== null) throw new Error(`jaeger exited with ${child.exitCode}: ${log}`);
    return (await fetch(`${queryUrl}/api/services`).catch(() => undefined))?.ok;
  });
  return {
    otlpTracesUrl: `http://127.0.0.1:${ports.JAEGER_OTLP_HTTP_PORT}/v1/traces`,
    queryUrl,
    async traces(service) {
      const res = await fetch(`${queryUrl}/api/traces?service=${encodeURIComponent(service)}&limit=100`);
      if (!res.ok) return [];
      const body = (await res.json()) as { data?: { spans: JaegerSpan[] }[] };
      return (body.data ?? []).map((t) => t.spans);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
