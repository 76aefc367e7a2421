/**
 * Turns run events into readable terminal lines for `keel watch` and `keel chat`: turns, tool calls with their
 * command lines, approvals waiting with the exact command to decide them, and the model's text as it streams.
 */
import { spendText } from '../agents/budget.js';
import type { RunEvent } from '../live/events.js';
import type { RunItem, RunStatus } from '../workflows/run-state.js';
import { safeText } from '../util/safe-text.js';
import { describeSandboxCall } from '../tools/sandbox/index.js';

const oneLine = (text: string, max = 200) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** A tool call as a person reads it: a built-in's own line (`$ cmd` for a command), else name and arguments. */
export function describeCall(name: string, args: string): string {
  try {
    const parsed = JSON.parse(args) as Record<string, unknown>;
    const builtin = describeSandboxCall(name, parsed);
    if (builtin) return builtin;
    if (typeof parsed.path === 'string' && Object.keys(parsed).length <= 2) return `${name} ${parsed.path}`;
  } catch {
    // shown raw below
  }
  return `${name} ${oneLine(args, 160)}`;
}

export class EventPrinter {
  /**
   * The model text streamed so far for the turn being generated. `open`: the terminal line is still its text (a
   * line printed in between closes it; the text is kept so its item does not print it again).
   */
  private streamed?: { turn: number; attempt: number; text: string; open: boolean };
  /** The last turn whose model text was printed whole: its trailing deltas are not printed again. */
  private printedTurn = 0;
  /** The highest turn a durable event was printed for: deltas of later turns wait for it (see `delta`). */
  private reachedTurn = 0;
  /** Deltas that overtook their turn's durable events (they take the faster path), in arrival order. */
  private held: Array<Extract<RunEvent, { type: 'delta' }>> = [];
  /** The last status the run reported. */
  status?: RunStatus;
  lastSeq = 0;
  /** One printer per descendant run (events tagged with `run`), writing indented under this one. */
  private readonly descendants = new Map<string, EventPrinter>();

  /** Writes to the terminal; every line is made safe first (model text and tool output may carry escape sequences). */
  private readonly write: (text: string) => void;

  constructor(
    private readonly runId: string,
    write: (text: string) => void,
    private readonly options: { showUserMessages?: boolean } = {},
  ) {
    this.write = (text) => write(safeText(text));
  }

  print(event: RunEvent): void {
    if (event.type !== 'delta' && event.run) return this.descendant(event.run).print({ ...event, run: undefined });
    if (event.type === 'delta') return this.delta(event);
    this.lastSeq = event.seq;
    if (event.type === 'gap') return this.line(`[events ${event.from}..${event.to} are no longer held by the run]`);
    this.durable(event);
    // After the event's own line, so text of a turn never comes before what preceded it in the run.
    this.reach(event.turn);
  }

  private durable(event: Extract<RunEvent, { seq: number; agent: string }>): void {
    if (event.type === 'turn') return this.line(`── turn ${event.turn} · ${event.agent}`);
    if (event.type === 'item') {
      if (event.item.type === 'message' && event.item.role === 'assistant')
        return this.answer(event.turn, event.item.content);
      return this.item(event.item);
    }
    if (event.type === 'approval_requested') {
      const a = event.approval;
      this.line(`⏸ waiting for approval: ${describeCall(a.tool, a.arguments)}`);
      this.line(`   approve: keel approve ${this.runId} ${a.callId} --by NAME`);
      return this.line(`   reject:  keel reject ${this.runId} ${a.callId} --by NAME --reason TEXT`);
    }
    if (event.type === 'child') return this.child(event.child);
    this.status = event.status;
    const spent = event.spend ? ` · ${spendText(event.spend)}` : '';
    if (event.status === 'completed') return this.line(`✔ completed${spent}`);
    if (event.status === 'failed')
      return this.line(
        `✘ failed: ${event.error ? `${event.error.type}: ${event.error.message}` : 'unknown error'}${spent}`,
      );
    if (event.status === 'cancelled') return this.line(`✘ cancelled${spent}`);
  }

  /** A child run's name under this one: its id without the root's prefix (`call_0_1`, `3`, `call_0_1/call_1_0`). */
  private childName(runId: string): string {
    return runId.startsWith(`${this.runId}/`) ? runId.slice(this.runId.length + 1) : runId;
  }

  private child(c: Extract<RunEvent, { type: 'child' }>['child']): void {
    const who = `${c.agent} ${this.childName(c.runId)}`;
    if (c.status === 'running') return this.line(`⑂ ${who} started`);
    return this.line(`⑂ ${who} ${c.status}${c.error ? `: ${c.error.type}: ${c.error.message}` : ''}`);
  }

  private descendant(runId: string): EventPrinter {
    let printer = this.descendants.get(runId);
    if (!printer) {
      const name = this.childName(runId);
      const pad = `${'  '.repeat(name.split('/').length)}│ ${name} `;
      const write = (text: string) => (this.endStream(), this.write(text.replace(/^(?=.)/gm, pad)));
      // Approvals a descendant asks for are decided at the root (`keel approve` finds the run that asked).
      printer = new EventPrinter(this.runId, write, this.options);
      this.descendants.set(runId, printer);
    }
    return printer;
  }

  /** Prints the deltas held for turns up to `turn`, now that the run's record has caught up with them. */
  private reach(turn: number): void {
    if (turn <= this.reachedTurn) return;
    this.reachedTurn = turn;
    const ready = this.held.filter((d) => d.turn <= turn);
    this.held = this.held.filter((d) => d.turn > turn);
    for (const d of ready) this.delta(d);
  }

  /**
   * Deltas come through the broker, faster than the durable events before them (the previous turn's tool results,
   * this turn's header): they are held until a durable event of their turn has been printed.
   */
  private delta(d: Extract<RunEvent, { type: 'delta' }>): void {
    const { turn, attempt, text } = d;
    if (turn <= this.printedTurn) return;
    if (turn > this.reachedTurn) return void this.held.push(d);
    if (!this.streamed || this.streamed.turn !== turn || this.streamed.attempt !== attempt) {
      this.endStream();
      this.streamed = { turn, attempt, text: '', open: true };
      this.write(attempt > 1 ? '[model call retried] ' : '');
    }
    this.streamed.text += text;
    this.streamed.open = true;
    this.write(text);
  }

  /** The turn's whole answer: only what its deltas did not already print. */
  private answer(turn: number, content: string): void {
    this.printedTurn = turn;
    const streamed = this.streamed;
    this.streamed = undefined;
    if (streamed?.turn === turn && content.startsWith(streamed.text)) {
      const rest = content.slice(streamed.text.length);
      if (streamed.open) return this.write(`${rest}\n`);
      return rest ? this.write(`${rest}\n`) : undefined;
    }
    if (streamed?.open) this.write('\n');
    this.write(`${content}\n`);
  }

  private item(item: RunItem): void {
    switch (item.type) {
      case 'message':
        return this.options.showUserMessages ? this.line(`${item.role}: ${oneLine(item.content, 400)}`) : undefined;
      case 'tool_call':
        return this.line(`→ ${describeCall(item.name, item.arguments)}`);
      case 'tool_result':
        return this.line(`${item.isError ? '✗' : '←'} ${item.name}: ${oneLine(item.output)}`);
      case 'approval':
        return this.line(
          `${item.decision === 'approve' ? '✓ approved' : '✗ rejected'} ${item.callId} by ${item.approver}${item.reason ? ` (${item.reason})` : ''}`,
        );
      case 'handoff':
        return this.line(`⇢ handoff ${item.from} → ${item.to}`);
      case 'guardrail':
        return this.line(`guardrail ${item.name} (${item.kind}): ${item.tripped ? 'TRIPPED' : 'passed'}`);
      case 'compaction':
        return this.line(`[${item.replacedItems} earlier items compacted into a summary]`);
    }
  }

  /** Ends the terminal line of streamed text (the text itself is kept for its item). */
  private endStream(): void {
    if (this.streamed?.open) this.write('\n');
    if (this.streamed) this.streamed.open = false;
  }

  private line(text: string): void {
    this.endStream();
    this.write(`${text}\n`);
  }
}

/** The exit code for a run's final status: 0 completed, 1 failed or cancelled. */
export function exitCodeFor(status: RunStatus | undefined): number {
  return status === 'completed' ? 0 : 1;
}
