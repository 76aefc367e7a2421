/**
 * How the agent reaches a Docker sandbox and how Keel talks to it, through the engine API only (so it works
 * from a worker that is itself a container holding just the engine's socket):
 * - the binary travels in a volume `keel-agent-<hash>`, filled once with putArchive through a short-lived
 *   container and mounted read-only into every sandbox at AGENT_DIR;
 * - the agent is the container's main process (under the engine's init), and Keel speaks to it over the
 *   attach stream (stdin + stdout, no TTY). Attaching again after a worker restart reaches the same agent.
 */
import type Docker from 'dockerode';
import { PassThrough, Duplex, type Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { SandboxError } from '../errors.js';
import { AgentClient } from './agent-client.js';
import { agentBinary } from './agent-binary.js';
import { mapDockerError } from './docker-errors.js';

/** Where the agent volume is mounted in every sandbox. */
export const AGENT_DIR = '/keel';
export const AGENT_PATH = `${AGENT_DIR}/keel-agent`;
const VOLUME_LABEL = 'keel.agent';
/** Mount the volume as it is (an empty one is not seeded from the image). */
export const NO_COPY = { NoCopy: true, Labels: {}, DriverConfig: { Name: 'local', Options: {} } };

const volumes = new WeakMap<Docker, Map<string, Promise<string>>>();

/** The name of the volume holding the current agent binary, creating and filling it once per engine. */
export function agentVolume(docker: Docker, image: string): Promise<string> {
  const bin = agentBinary();
  let perEngine = volumes.get(docker);
  if (!perEngine) volumes.set(docker, (perEngine = new Map()));
  let ready = perEngine.get(bin.sha256);
  if (!ready) {
    ready = fillVolume(docker, image, `keel-agent-${bin.sha256.slice(0, 16)}`, bin.bytes);
    ready.catch(() => perEngine.delete(bin.sha256));
    perEngine.set(bin.sha256, ready);
  }
  return ready;
}

async function fillVolume(docker: Docker, image: string, name: string, bytes: Buffer): Promise<string> {
  try {
    await docker.createVolume({ Name: name, Labels: { [VOLUME_LABEL]: '1' } });
    const helper = (await docker.createContainer({
      Image: image,
      Entrypoint: [AGENT_PATH],
      Cmd: ['none'],
      Labels: { [VOLUME_LABEL]: 'filler' },
      HostConfig: {
        NetworkMode: 'none',
        Mounts: [{ Type: 'volume', Source: name, Target: AGENT_DIR, VolumeOptions: NO_COPY }],
      },
    })) as Docker.Container;
    try {
      if (!(await isFilled(helper))) await helper.putArchive(await agentTar(bytes), { path: AGENT_DIR });
    } finally {
      await helper.remove({ force: true }).catch(() => undefined);
    }
    return name;
  } catch (err) {
    if (/no such image/i.test(String((err as Error).message))) {
      throw new SandboxError(
        'sandbox_unavailable',
        `sandbox image ${image} not found; build it with scripts/build-sandbox-image.sh`,
        { cause: err },
      );
    }
    throw mapDockerError(err, '(agent volume)');
  }
}

/** The marker goes in after the binary (same archive), so its presence means the binary is complete. */
const MARKER = 'keel-agent.complete';

async function isFilled(helper: Docker.Container): Promise<boolean> {
  try {
    await collect((await helper.getArchive({ path: `${AGENT_DIR}/${MARKER}` })) as Readable);
    return true;
  } catch {
    return false;
  }
}

function agentTar(bytes: Buffer): Promise<Buffer> {
  const p = pack();
  p.entry({ name: 'keel-agent', mode: 0o755, uid: 0, gid: 0 }, bytes);
  p.entry({ name: MARKER, mode: 0o644, uid: 0, gid: 0 }, '');
  p.finalize();
  return collect(p as unknown as Readable);
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Attaches to a sandbox's agent and checks it answers. */
export async function attachAgent(container: Docker.Container, pingTimeoutMs = 5_000): Promise<AgentClient> {
  let socket: Duplex;
  try {
    // Attaching to a stopped container succeeds and then says nothing: ask first.
    if (!(await container.inspect()).State.Running)
      throw new SandboxError('sandbox_gone', `sandbox ${container.id} is not running`);
    socket = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as Duplex;
  } catch (err) {
    throw mapDockerError(err, container.id);
  }
  const stdout = new PassThrough();
  // The agent's stderr carries only its own diagnostics (never command output): shown with KEEL_AGENT_DEBUG=1.
  const onStderr = (chunk: Buffer) =>
    void (
      process.env.KEEL_AGENT_DEBUG === '1' && process.stderr.write(`[keel-agent ${container.id.slice(0, 12)}] ${chunk}`)
    );
  demux(socket, (chunk) => (stdout.write(chunk) ? undefined : drainOnce(stdout)), onStderr).then(
    () => stdout.end(),
    (err: unknown) => stdout.destroy(err as Error),
  );
  const stream = Duplex.from({ readable: stdout, writable: socket });
  stream.on('close', () => socket.destroy());
  const client = new AgentClient(stream, { lostError: () => lostReason(container) });
  try {
    await client.ping(pingTimeoutMs);
  } catch (err) {
    await client.close();
    const lost = await lostReason(container);
    throw lost instanceof SandboxError && lost.code === 'sandbox_gone' ? lost : err;
  }
  return client;
}

function drainOnce(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => stream.once('drain', resolve));
}

/** Why an attach stream ended: the container stopped (gone) or the engine connection broke (unavailable). */
async function lostReason(container: Docker.Container): Promise<Error> {
  try {
    const info = await container.inspect();
    if (!info.State.Running) return new SandboxError('sandbox_gone', `sandbox ${container.id} is not running`);
    return new SandboxError('sandbox_unavailable', `lost the connection to sandbox ${container.id}'s agent`);
  } catch (err) {
    return mapDockerError(err, container.id);
  }
}

/** Receives output chunks; a returned promise is awaited before more is read (backpressure). */
export type Sink = (chunk: Buffer) => void | Promise<void>;

/** Parses Docker's stream framing: 8-byte headers (stream type, payload length) followed by the payload. */
export async function demux(source: AsyncIterable<Buffer>, onStdout: Sink, onStderr: Sink): Promise<void> {
  let header = Buffer.alloc(0);
  let type = 1;
  let remaining = 0;
  for await (const chunk of source) {
    let buf = chunk;
    while (buf.length > 0) {
      if (remaining === 0) {
        const need = 8 - header.length;
        header = Buffer.concat([header, buf.subarray(0, need)]);
        buf = buf.subarray(need);
        if (header.length < 8) break;
        type = header[0];
        remaining = header.readUInt32BE(4);
        header = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(remaining, buf.length);
      remaining -= take;
      await (type === 2 ? onStderr : onStdout)(buf.subarray(0, take));
      buf = buf.subarray(take);
    }
  }
}
