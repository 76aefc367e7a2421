/**
 * A warm pool of started, hardened, agent-ready sandboxes per shape (image, limits, network, runtime, scope).
 * `take` hands one out at most once (it leaves the pool for good: a claimed sandbox never serves another run),
 * and every take refills the shape in the background. Idle members are removed after `idleMs`; their
 * agents also exit on their own a little later, so a crashed worker's pool drains itself (the reaper removes
 * the stopped containers).
 */
import { resolveLimits } from './hardening.js';
import type { SandboxCreateOptions } from './types.js';

export interface PoolOptions {
  /** Idle sandboxes kept ready per shape. */
  size: number;
  /** How long an idle sandbox waits to be claimed before it is removed. Default 10 minutes. */
  idleMs?: number;
}

export interface Poolable {
  remove(): Promise<void>;
}

interface Member<T> {
  sandbox: T;
  timer: NodeJS.Timeout;
}

interface Shape<T> {
  options: SandboxCreateOptions;
  idle: Member<T>[];
  starting: number;
}

/** The pool's key for a sandbox's shape: everything fixed at container creation except who owns it. */
export function shapeKey(options: SandboxCreateOptions): string {
  const { image, network = false, runtime = 'runc' } = options;
  return JSON.stringify({
    image,
    network,
    runtime,
    limits: resolveLimits(options.limits),
    scope: options.labels.scope ?? '',
  });
}

export class WarmPool<T extends Poolable> {
  readonly size: number;
  readonly idleMs: number;
  private readonly shapes = new Map<string, Shape<T>>();
  private closed = false;

  constructor(
    options: PoolOptions,
    /** Starts one pool member of a shape (labelled as the pool's, not yet claimed). */
    private readonly start: (options: SandboxCreateOptions, key: string) => Promise<T>,
    private readonly onError: (err: unknown) => void = (err) => console.warn(`keel: warm pool: ${String(err)}`),
  ) {
    if (!Number.isInteger(options.size) || options.size < 0)
      throw new RangeError(`pool size must be a non-negative integer, got ${options.size}`);
    this.size = options.size;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    if (!(this.idleMs > 0)) throw new RangeError(`pool idleMs must be positive, got ${options.idleMs}`);
  }

  /** An idle sandbox of this shape, removed from the pool; undefined when none is ready. Refills either way. */
  take(options: SandboxCreateOptions): T | undefined {
    const shape = this.shape(options);
    const member = shape.idle.shift();
    if (member) clearTimeout(member.timer);
    this.refill(shape);
    return member?.sandbox;
  }

  /** Starts filling a shape's pool ahead of its first run. */
  prewarm(options: SandboxCreateOptions): void {
    this.refill(this.shape(options));
  }

  /** Resolves once every shape has `size` idle members (or stopped trying). For benchmarks and tests. */
  async settled(): Promise<void> {
    while ([...this.shapes.values()].some((s) => s.starting > 0)) await new Promise((r) => setTimeout(r, 20));
  }

  /** Ids of the idle members: the reaper leaves them alone. */
  has(predicate: (sandbox: T) => boolean): boolean {
    return [...this.shapes.values()].some((s) => s.idle.some((m) => predicate(m.sandbox)));
  }

  /** Removes every idle member and stops refilling. */
  async close(): Promise<void> {
    this.closed = true;
    const members = [...this.shapes.values()].flatMap((s) => s.idle.splice(0));
    await Promise.all(members.map((m) => (clearTimeout(m.timer), m.sandbox.remove().catch(this.onError))));
  }

  private shape(options: SandboxCreateOptions): Shape<T> {
    const key = shapeKey(options);
    let shape = this.shapes.get(key);
    if (!shape) this.shapes.set(key, (shape = { options: { ...options, env: undefined }, idle: [], starting: 0 }));
    return shape;
  }

  private refill(shape: Shape<T>): void {
    const key = shapeKey(shape.options);
    while (!this.closed && shape.idle.length + shape.starting < this.size) {
      shape.starting++;
      this.start(shape.options, key)
        .then((sandbox) => {
          if (this.closed) return sandbox.remove();
          const member: Member<T> = { sandbox, timer: setTimeout(() => this.expire(shape, member), this.idleMs) };
          member.timer.unref();
          shape.idle.push(member);
        })
        .catch(this.onError)
        .finally(() => shape.starting--);
    }
  }

  private expire(shape: Shape<T>, member: Member<T>): void {
    const at = shape.idle.indexOf(member);
    if (at < 0) return;
    shape.idle.splice(at, 1);
    // Not refilled: a shape nobody uses drains to nothing; its next take refills it.
    member.sandbox.remove().catch(this.onError);
  }
}
