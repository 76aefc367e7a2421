/**
 * The host half of the in-sandbox agent's protocol (docs/sandbox-agent.md): newline-delimited JSON frames with
 * request ids over any Node Duplex stream — Docker's attach stream, a bubblewrap child's stdio, a VM's serial
 * port. Transport-agnostic on purpose: every sandbox tier talks to the same agent through this one client.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, type Duplex } from 'node:stream';
import { SandboxError, type SandboxErrorCode } from '../errors.js';
import type { DirEntry, ExecResult, WorkspaceExport, WorkspaceExportOptions, WorkspaceExportSummary } from './types.js';

/** The protocol version this client speaks (the agent's `version` constant). */
export const AGENT_PROTOCOL_VERSION = '1';
/** Stdin/stream chunks in flight before the sender waits for an ack (the agent's `window`). */
const WINDOW = 16;
const CHUNK_BYTES = 256 * 1024;

export interface AgentInfo {
  version: string;
  claimed: boolean;
  labels?: Record<string, string>;
  uid: number;
}

export interface AgentStat {
  type: DirEntry['type'];
  size: number;
  mode: number;
  mtimeMs: number;
}

/** What an exec request carries (see docs/sandbox-agent.md). */
export interface AgentExecRequest {
  cmd?: string;
  argv?: string[];
  workdir?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  cap: number;
  key?: string;
  /** Streamed output, as it comes (up to `cap` bytes per stream; the result holds the rendered whole). */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

interface Frame {
  id: string;
  result?: unknown;
  error?: { code: string; message: string };
  stream?: string;
  data?: string;
  ack?: number;
  hello?: { version: string };
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  onStream?(stream: string, data: Buffer): void;
  onAck?(): void;
}

const CODES: SandboxErrorCode[] = [
  'path_escape',
  'not_found',
  'too_large',
  'exec_failed',
  'io_error',
  'sandbox_gone',
  'sandbox_unavailable',
];

export interface AgentClientOptions {
  /** The error pending requests fail with when the stream ends (a transport knows best whether the sandbox is gone). */
  lostError?: () => Promise<Error>;
  /** Called once when the stream ends or fails. */
  onClose?: () => void;
}

/** One connection to one agent. Requests may overlap; each gets exactly one result or error. */
export class AgentClient {
  private readonly pending = new Map<string, Pending>();
  private readonly prefix = randomBytes(4).toString('hex');
  private seq = 0;
  private buffered: Buffer[] = [];
  private closedWith?: Error;
  private closing?: Promise<void>;

  constructor(
    private readonly stream: Duplex,
    private readonly options: AgentClientOptions = {},
  ) {
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.lost());
    stream.once('close', () => this.lost());
    stream.on('error', () => this.lost());
  }

  /** True once the stream has ended: make a new client. */
  get closed(): boolean {
    return this.closedWith !== undefined || this.closing !== undefined;
  }

  nextId(): string {
    return `${this.prefix}-${++this.seq}`;
  }

  /** Sends one request and resolves with its result (rejects with its error as a SandboxError). */
  request<T>(
    fields: Record<string, unknown>,
    handlers: Omit<Pending, 'resolve' | 'reject'> & { id?: string } = {},
  ): Promise<T> {
    const id = handlers.id ?? this.nextId();
    return new Promise<T>((resolve, reject) => {
      if (this.closedWith) return reject(this.closedWith);
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onStream: handlers.onStream,
        onAck: handlers.onAck,
      });
      this.send({ id, ...fields });
    });
  }

  /** Sends a frame that gets no reply of its own (stdin, ack, a kill's fire-and-forget form). */
  send(frame: Record<string, unknown>): void {
    if (!this.closed && this.stream.writable) this.stream.write(JSON.stringify(frame) + '\n');
  }

  /** Answers when the agent is up; fails after `timeoutMs`. */
  async ping(timeoutMs = 5_000): Promise<AgentInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new SandboxError('sandbox_unavailable', `the sandbox agent did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const info = await Promise.race([this.request<AgentInfo>({ op: 'ping' }), timeout]);
      if (info.version !== AGENT_PROTOCOL_VERSION) {
        throw new SandboxError(
          'sandbox_unavailable',
          `the sandbox agent speaks protocol ${info.version}, this Keel ${AGENT_PROTOCOL_VERSION}`,
        );
      }
      return info;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Hands the sandbox to its run: its environment and owner labels (once per sandbox). */
  claim(env: Record<string, string>, labels: Record<string, string>): Promise<void> {
    return this.request({ op: 'claim', env, labels });
  }

  /** Runs a command; `id` lets the caller `kill(id)` it. */
  exec(req: AgentExecRequest, id = this.nextId()): Promise<ExecResult> {
    const { onOutput, ...fields } = req;
    return this.request<ExecResult>(
      { op: 'exec', ...fields, stream: onOutput !== undefined },
      { id, onStream: onOutput && ((s, data) => onOutput(s as 'stdout' | 'stderr', data)) },
    );
  }

  /** Kills request `target`'s command (its process group and marked processes); it then ends as aborted. */
  kill(target: string): Promise<void> {
    return this.request({ op: 'kill', target });
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    return Buffer.from((await this.request<string | null>({ op: 'read', path, maxBytes })) ?? '', 'base64');
  }

  writeFile(path: string, content: Buffer): Promise<void> {
    return this.request({ op: 'write', path, data: content.toString('base64') });
  }

  removeFile(path: string): Promise<void> {
    return this.request({ op: 'remove', path });
  }

  async listDir(path: string): Promise<DirEntry[]> {
    return (await this.request<DirEntry[] | null>({ op: 'list', path })) ?? [];
  }

  stat(path: string): Promise<AgentStat> {
    return this.request({ op: 'stat', path });
  }

  /**
   * A tar stream of a workspace directory (default all of it), with backpressure: chunks are acked as consumed.
   * `snapshot` caps the export and may make it incremental (agent/snapshot.go); `summary` settles when it ends.
   */
  tarOut(path = '.', snapshot?: WorkspaceExportOptions): WorkspaceExport {
    const out: PassThrough & WorkspaceExport = new PassThrough();
    const id = this.nextId();
    let queue = Promise.resolve();
    const done = this.request<WorkspaceExportSummary>(
      { op: 'tar_out', path, ...(snapshot ? { snapshot } : {}) },
      {
        id,
        onStream: (_s, data) => {
          queue = queue.then(async () => {
            if (!out.destroyed && !out.write(data)) await drained(out);
            this.send({ id, op: 'ack' });
          });
        },
      },
    );
    done.then(
      () => queue.then(() => out.end()),
      (err: Error) => queue.then(() => out.destroy(err)),
    );
    out.summary = done;
    done.catch(() => {}); // the stream carries the failure
    return out;
  }

  /** Extracts a tar into a workspace directory, streaming it as stdin chunks within the agent's window. */
  async tarIn(tar: Readable | Buffer, dest = '.'): Promise<void> {
    const id = this.nextId();
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const done = this.request<void>(
      { op: 'tar_in', path: dest },
      {
        id,
        onAck: () => {
          inFlight--;
          wake?.();
        },
      },
    );
    let failed = false;
    done.catch(() => {
      failed = true;
      wake?.();
    });
    for await (const chunk of chunks(tar)) {
      while (inFlight >= WINDOW && !failed) await new Promise<void>((r) => (wake = r));
      if (failed) break;
      inFlight++;
      this.send({ id, op: 'stdin', data: chunk.toString('base64') });
    }
    this.send({ id, op: 'stdin', eof: true });
    await done;
  }

  /** Ends the connection (the agent keeps running; another client may attach). */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.end();
      this.stream.destroy();
      if (this.stream.destroyed) resolve();
    });
    return this.closing;
  }

  private onData(chunk: Buffer): void {
    let at = chunk.indexOf(10);
    while (at >= 0) {
      this.buffered.push(chunk.subarray(0, at));
      const line = Buffer.concat(this.buffered).toString('utf8');
      this.buffered = [];
      chunk = chunk.subarray(at + 1);
      at = chunk.indexOf(10);
      if (line.trim()) this.onFrame(line);
    }
    if (chunk.length > 0) this.buffered.push(chunk);
  }

  private onFrame(line: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(line) as Frame;
    } catch {
      return; // not ours (a stray line): frames are whole JSON objects
    }
    const p = this.pending.get(frame.id);
    if (!p) return; // another client's frame, or a hello
    if (frame.stream !== undefined) p.onStream?.(frame.stream, Buffer.from(frame.data ?? '', 'base64'));
    else if (frame.ack !== undefined) p.onAck?.();
    else {
      this.pending.delete(frame.id);
      if (frame.error) p.reject(agentError(frame.error));
      else p.resolve(frame.result);
    }
  }

  private lost(): void {
    if (this.closedWith) return;
    this.closedWith = new SandboxError('sandbox_gone', 'the connection to the sandbox agent closed');
    this.options.onClose?.();
    if (this.pending.size === 0) return;
    const fail = (err: Error) => {
      this.closedWith = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    if (this.options.lostError) void this.options.lostError().then(fail, fail);
    else fail(this.closedWith);
  }
}

/** The agent's error frame as a SandboxError (an `aborted` one as an AbortError). */
function agentError(e: { code: string; message: string }): Error {
  if (e.code === 'aborted') return new DOMException(e.message, 'AbortError');
  const code = CODES.includes(e.code as SandboxErrorCode) ? (e.code as SandboxErrorCode) : 'exec_failed';
  return new SandboxError(code, e.message);
}

async function* chunks(source: Readable | Buffer): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(source)) {
    for (let at = 0; at < source.length; at += CHUNK_BYTES) yield source.subarray(at, at + CHUNK_BYTES);
    return;
  }
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    for (let at = 0; at < buf.length; at += CHUNK_BYTES) yield buf.subarray(at, at + CHUNK_BYTES);
  }
}

function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
