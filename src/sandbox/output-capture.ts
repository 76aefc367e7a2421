/**
 * Bounded capture of a command's output: keeps the first and last bytes of a stream and counts what it drops, so a
 * command printing 100 MB costs a few KB of memory. in-container.ts carries a Python twin of this algorithm (for
 * the idempotency journal); keep the two in step, the exec integration test compares their results.
 */

/** The text put where the middle of an output was cut. */
export function truncationMarker(droppedBytes: number): string {
  return `\n…[truncated ${droppedBytes} bytes]…\n`;
}

/** Keeps up to `capBytes / 2` bytes from the start and `capBytes - capBytes / 2` from the end of a stream. */
export class OutputCapture {
  private readonly headCap: number;
  private readonly tailCap: number;
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Bytes seen in total. */
  total = 0;

  constructor(readonly capBytes: number) {
    this.headCap = Math.floor(capBytes / 2);
    this.tailCap = capBytes - this.headCap;
  }

  write(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headBytes < this.headCap) {
      const take = Math.min(this.headCap - this.headBytes, chunk.length);
      this.head.push(chunk.subarray(0, take));
      this.headBytes += take;
      chunk = chunk.subarray(take);
    }
    if (chunk.length === 0 || this.tailCap === 0) return;
    if (chunk.length >= this.tailCap) {
      this.tail = [Buffer.from(chunk.subarray(chunk.length - this.tailCap))];
      this.tailBytes = this.tailCap;
      return;
    }
    this.tail.push(Buffer.from(chunk));
    this.tailBytes += chunk.length;
    while (this.tailBytes - this.tail[0].length >= this.tailCap) {
      this.tailBytes -= this.tail[0].length;
      this.tail.shift();
    }
  }

  /** The bytes kept, as a (head, tail) pair; when nothing was dropped both are the whole stream. */
  private kept(): { head: Buffer; tail: Buffer } {
    const head = Buffer.concat(this.head);
    const tail = Buffer.concat(this.tail);
    if (this.total <= this.capBytes) {
      const whole = Buffer.concat([head, tail]);
      return { head: whole, tail: whole };
    }
    return { head, tail: tail.subarray(tail.length - this.tailCap) };
  }

  /**
   * Renders the capture within `budget` bytes (at most the cap): the whole text if it fits, otherwise its first
   * `budget / 2` and last `budget - budget / 2` bytes, cut on UTF-8 character boundaries, with a marker between.
   */
  render(budget = this.capBytes): { text: string; truncated: boolean } {
    const { head, tail } = this.kept();
    const b = Math.min(budget, this.capBytes);
    if (this.total <= b) return { text: head.toString('utf8'), truncated: false };
    const keptHead = head.subarray(0, utf8Floor(head, Math.floor(b / 2)));
    const keptTail = tail.subarray(utf8Ceil(tail, tail.length - (b - Math.floor(b / 2))));
    const dropped = this.total - keptHead.length - keptTail.length;
    return { text: keptHead.toString('utf8') + truncationMarker(dropped) + keptTail.toString('utf8'), truncated: true };
  }
}

/** Largest index <= i such that buf[0, index) ends on a whole UTF-8 character (the stream may go on past buf). */
function utf8Floor(buf: Buffer, i: number): number {
  const at = Math.min(i, buf.length);
  let start = at - 1;
  while (start > 0 && at - start < 4 && (buf[start] & 0xc0) === 0x80) start--;
  if (start < 0) return 0;
  const lead = buf[start];
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return start + size > at ? start : at;
}

/** Smallest index >= i (and >= 0) that does not fall inside a UTF-8 character. */
function utf8Ceil(buf: Buffer, i: number): number {
  let at = Math.max(i, 0);
  const limit = at + 3;
  while (at < buf.length && at < limit && (buf[at] & 0xc0) === 0x80) at++;
  return at;
}

/**
 * Splits one byte budget between stdout and stderr: everything when both fit, else the smaller stream gets up to
 * half and the larger the rest.
 */
export function renderOutputs(
  stdout: OutputCapture,
  stderr: OutputCapture,
  budget: number,
): { stdout: string; stderr: string; truncated: boolean } {
  let outBudget = budget;
  let errBudget = budget;
  if (stdout.total + stderr.total > budget) {
    const half = Math.floor(budget / 2);
    if (stdout.total <= stderr.total) {
      outBudget = Math.min(stdout.total, half);
      errBudget = budget - outBudget;
    } else {
      errBudget = Math.min(stderr.total, half);
      outBudget = budget - errBudget;
    }
  }
  const out = stdout.render(outBudget);
  const err = stderr.render(errBudget);
  return { stdout: out.text, stderr: err.text, truncated: out.truncated || err.truncated };
}
