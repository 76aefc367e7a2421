/**
 * A Docker engine of the test's own: a second `dockerd` (its own socket, data root, containerd and network
 * namespace, no bridge), so a test can restart an engine and lose its containers without touching the machine's engine, which other
 * test files use at the same time. Needs root and `dockerd` (scripts/ensure-docker.sh installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { docker as machineEngine } from './sandbox.js';
import { waitFor } from './runs.js';

export interface PrivateEngine {
  docker: Docker;
  /** Stops the engine the way `systemctl stop docker` does: its containers stop with it. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** `stop` then `start`, as `systemctl restart docker`. */
  restart(): Promise<void>;
  /** Stops the engine and deletes its data. Safe to call twice. */
  close(): Promise<void>;
}

export async function startPrivateEngine(images: string[]): Promise<PrivateEngine> {
  if (process.getuid?.() !== 0) throw new Error('a private Docker engine needs root (dockerd)');
  const dir = mkdtempSync('/tmp/keel-engine-');
  const socket = path.join(dir, 'docker.sock');
  const docker = new Docker({ socketPath: socket });
  const log = path.join(dir, 'dockerd.log');
  let child: ChildProcess | undefined;

  const start = async () => {
    const out = openSync(log, 'a');
    const args = [
      '--host',
      `unix://${socket}`,
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'docker.pid'),
      '--bridge',
      'none',
      '--iptables=false',
      '--ip6tables=false',
    ];
    // In a network namespace of its own: a dockerd with `--bridge none` deletes the host's docker0 otherwise,
    // and every other file's networked sandbox then fails ("could not find bridge docker0").
    child = spawn('unshare', ['--net', 'dockerd', ...args], { stdio: ['ignore', out, out] });
    const spawned = child;
    const exited = new Promise<never>((_, reject) =>
      spawned.once('exit', (code) => reject(new Error(`dockerd exited (${code}): ${tail(log)}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([
      exited,
      waitFor('the private dockerd to answer', () => docker.ping().then(() => true), 60_000),
    ]);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM'); // stops its containers, then its containerd, then itself
    const hung = setTimeout(() => running.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(hung); // a pending timer would keep the test process alive
  };

  try {
    await start();
    for (const image of images) await docker.loadImage(await machineEngine.getImage(image).get()).then(drain);
  } catch (err) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    docker,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function drain(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('data', () => undefined);
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-5).join('\n');
  } catch {
    return '(no log)';
  }
}
