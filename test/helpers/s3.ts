/**
 * A real S3-compatible server for tests: SeaweedFS `weed mini` (master, volume, filer and S3 in one process),
 * built by scripts/ensure-s3.sh, started on free loopback ports with SigV4 auth on (an `-s3.config` identity), a
 * bucket created, and stopped (SIGTERM, then SIGKILL) at the end. See ../shared/notes/real-components.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

const REPO = path.resolve(import.meta.dirname, '..', '..');

export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  client: S3Client;
  /** The environment a worker needs to use this server: KEEL_STORE, KEEL_S3_ENDPOINT, AWS credentials. */
  env(prefix?: string): Record<string, string>;
  /** Resolves, with weed's exit and log, if it exits before `stop` (never otherwise): race it against a long wait. */
  died: Promise<string>;
  stop(): Promise<void>;
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * The lowest port the kernel hands out for outbound connections (Linux: ip_local_port_range, else its default).
 * SeaweedFS binds each component's gRPC port (its port + 10000) only after its own start-up dials: a port in this
 * range can be taken by one of them, or by any other test's connection, between our check and weed's bind, and a
 * component that cannot bind brings weed down later (the admin server: a fatal error two minutes after start,
 * mid-test). So every port weed gets, and its +10000, is below this floor.
 */
function ephemeralFloor(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/** A free port whose +10000 (each SeaweedFS component's gRPC port) is free too, both below the ephemeral range. */
async function portPair(taken: Set<number>): Promise<number> {
  const [low, high] = [10_000, ephemeralFloor() - 10_001];
  for (;;) {
    const p = low + Math.floor(Math.random() * (high - low));
    if (!taken.has(p) && (await isFree(p)) && (await isFree(p + 10000))) {
      taken.add(p);
      return p;
    }
  }
}

function newClient(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
}

/** What `weed mini` prints once every component (the admin server and its worker too) is up. */
const ALL_UP = 'All enabled components are running';

/** Ready means S3 answers and weed says every component is up (one that is not would bring weed down later). */
async function waitReady(
  client: S3Client,
  child: ChildProcess,
  log: () => string,
  allUp: () => boolean,
): Promise<void> {
  const deadline = Date.now() + 150_000; // weed gives its admin server 120 s before it gives up
  for (;;) {
    if (child.exitCode !== null) throw new Error(`weed exited early (code ${child.exitCode}):\n${log()}`);
    try {
      await client.send(new ListBucketsCommand({}));
      if (allUp()) return;
      throw new Error('S3 answers, but not every weed component is up yet');
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`weed not ready after 150 s: ${String(err)}\n${log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function startS3Server(bucket = 'keel-test'): Promise<S3Server> {
  const bin = execFileSync('bash', [path.join(REPO, 'scripts/ensure-s3.sh')], { cwd: REPO, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!;
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-s3-'));
  const [accessKeyId, secretAccessKey] = ['keeltest', `secret-${process.pid}-${Date.now()}`];
  writeFileSync(
    path.join(dir, 's3.json'),
    JSON.stringify({
      identities: [
        {
          name: 'keel',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
        },
      ],
    }),
  );
  const taken = new Set<number>();
  const [master, volume, filer, s3, admin] = [
    await portPair(taken),
    await portPair(taken),
    await portPair(taken),
    await portPair(taken),
    await portPair(taken),
  ];
  const child = spawn(
    bin,
    [
      'mini',
      `-dir=${path.join(dir, 'data')}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-master.port=${master}`,
      `-volume.port=${volume}`,
      `-filer.port=${filer}`,
      `-s3.port=${s3}`,
      `-s3.config=${path.join(dir, 's3.json')}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      '-webdav=false',
      '-admin.ui=false',
      `-admin.port=${admin}`,
      '-admin.port.legacy=0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  let allUp = false; // kept apart from the log's tail, which may have moved past the line
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-8000);
    allUp ||= log.includes(ALL_UP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const died = exited.then(() =>
    stopping
      ? new Promise<never>(() => undefined)
      : `weed exited (code ${child.exitCode}, signal ${child.signalCode}):\n${log}`,
  );
  const endpoint = `http://127.0.0.1:${s3}`;
  const client = newClient(endpoint, accessKeyId, secretAccessKey);
  const stop = async () => {
    stopping = true;
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(
      client,
      child,
      () => log,
      () => allUp,
    );
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    client,
    env: (prefix = 'keel') => ({
      KEEL_STORE: `s3://${bucket}/${prefix}`,
      KEEL_S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: 'us-east-1',
    }),
    died,
    stop,
  };
}
