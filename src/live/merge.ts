/**
 * Merges async sources into one async iterator, in arrival order. Each source gets an AbortSignal that fires when
 * the consumer stops (break / return) or another source fails; sources must stop reading when it fires.
 * `more(value)` may add sources as values arrive (a tree whose branches are found while it is read).
 */
export type Source<T> = (signal: AbortSignal) => AsyncIterable<T>;

export async function* mergeSources<T>(
  sources: Source<T>[],
  signal?: AbortSignal,
  more: (value: T) => Source<T>[] = () => [],
): AsyncGenerator<T> {
  const stop = new AbortController();
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let failure: { error: unknown } | undefined;
  let running = 0;
  const notify = () => (wake?.(), (wake = undefined));
  const pump = async (source: Source<T>) => {
    try {
      for await (const value of source(stop.signal)) {
        if (stop.signal.aborted) break;
        queue.push(value);
        for (const added of more(value)) start(added);
        notify();
      }
    } catch (error) {
      if (!stop.signal.aborted) failure ??= { error };
    } finally {
      running--;
      notify();
    }
  };
  const start = (source: Source<T>) => {
    running++;
    void pump(source);
  };
  signal?.addEventListener('abort', () => (stop.abort(), notify()), { once: true });
  for (const source of sources) start(source);
  try {
    for (;;) {
      if (stop.signal.aborted) return;
      if (queue.length) {
        yield queue.shift()!;
        continue;
      }
      if (failure) throw failure.error;
      if (running === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stop.abort();
  }
}

/** Resolves with `promise`, or rejects with an AbortError once `signal` fires (the promise is left to settle alone). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new DOMException('aborted', 'AbortError'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DOMException('aborted', 'AbortError'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error)),
    );
  });
}
