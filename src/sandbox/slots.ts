/**
 * A host's cap on live sandboxes, and the line of creations waiting for room. What is live is counted on the
 * engine (containers by label), not remembered: sandboxes of a crashed worker, or of other workers on the same
 * engine, count too, and a removal anywhere frees a slot. The one thing kept in memory is the creations under way
 * in this process, which the engine may not list yet (a starting container is briefly counted twice: the cap errs
 * on the safe side). Workers sharing an engine may each admit one more at the same instant: the cap is not a lock.
 */
import { availableParallelism, totalmem } from 'node:os';

const MiB = 1024 * 1024;
/** Default cap: this many sandboxes per core, and one per this much memory, whichever is fewer. */
const PER_CORE = 4;
const MEMORY_PER_SANDBOX = 256 * MiB;

/** The default cap for a host with `cpus` cores and `memoryBytes` of memory (at least 1). */
export function defaultMaxSandboxes(cpus = availableParallelism(), memoryBytes = totalmem()): number {
  return Math.max(1, Math.min(cpus * PER_CORE, Math.floor(memoryBytes / MEMORY_PER_SANDBOX)));
}

/** The cap from `KEEL_MAX_SANDBOXES`, else the default for this host; anything but a positive integer is refused. */
export function maxSandboxesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KEEL_MAX_SANDBOXES;
  if (raw === undefined || raw === '') return defaultMaxSandboxes();
  return checkedMaxSandboxes(Number(raw), `KEEL_MAX_SANDBOXES (${JSON.stringify(raw)})`);
}

export function checkedMaxSandboxes(value: number, what = 'maxSandboxes'): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/** A reserved place for one sandbox being created; release it once the sandbox exists (or failed to). */
export interface SandboxSlot {
  release(): void;
}

export interface TakeOptions {
  /** Stops waiting (the activity was cancelled): `take` rejects with the signal's reason. */
  signal?: AbortSignal;
}

export class SandboxSlots {
  /** Creations under way here: reserved, perhaps not yet listed by the engine. */
  private starting = 0;
  /** Waiting callers, first come first served: each waits for the one before it to get its slot. */
  private line: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  /** Count and reserve happen together, never interleaved with another caller's. */
  private lock: Promise<unknown> = Promise.resolve();
  private wake?: () => void;

  constructor(
    readonly max: number,
    /** Live sandboxes on this host now (the engine's count). */
    private readonly count: () => Promise<number>,
    /** How often a waiter looks again without being woken (removals by other processes wake nobody here). */
    private readonly pollMs = 1_000,
  ) {
    checkedMaxSandboxes(max);
  }

  /** A slot now, or undefined when the host is full or others are already waiting. */
  tryTake(): Promise<SandboxSlot | undefined> {
    return this.waiting > 0 ? Promise.resolve(undefined) : this.reserveIfRoom();
  }

  /** A slot, waiting in line for one (polling the engine, woken early by `freed`). */
  take(options: TakeOptions = {}): Promise<SandboxSlot> {
    this.waiting++;
    const mine = this.line.then(() => this.waitForRoom(options));
    this.line = mine.catch(() => undefined);
    return mine.finally(() => this.waiting--);
  }

  /** Says a sandbox was removed here, so the first in line looks at once. */
  freed(): void {
    this.wake?.();
  }

  private async waitForRoom({ signal }: TakeOptions): Promise<SandboxSlot> {
    for (;;) {
      signal?.throwIfAborted();
      const slot = await this.reserveIfRoom();
      if (slot) return slot;
      await this.pause(signal);
    }
  }

  private reserveIfRoom(): Promise<SandboxSlot | undefined> {
    const next = this.lock.then(async () =>
      (await this.count()) + this.starting < this.max ? this.reserve() : undefined,
    );
    this.lock = next.catch(() => undefined);
    return next;
  }

  private reserve(): SandboxSlot {
    this.starting++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.starting--;
        this.freed();
      },
    };
  }

  /** Until woken, the poll interval passes, or the signal aborts. */
  private pause(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      signal?.addEventListener('abort', done);
      this.wake = done;
    });
  }
}
