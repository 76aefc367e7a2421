/**
 * A run's events as the Vercel AI SDK UI message stream (protocol v1), so a chat front end (`useChat`) reads a
 * conversation run with no glue: one step per model turn, the model's text as text parts (token deltas when the
 * client has a broker, the whole text otherwise), tool calls and results as dynamic tool parts, approval requests
 * as `data-approval` parts, a failed run as an `error` chunk. Pure: the route in app.ts feeds it events.
 */
import type { DeltaEvent, RunEvent } from '../live/events.js';

/** The chunks of the protocol Keel sends (a subset of the `ai` package's `UIMessageChunk`; the tests read them with it). */
export type UiChunk =
  | { type: 'start'; messageId?: string }
  | { type: 'finish'; finishReason?: 'stop' | 'error' | 'other' }
  | { type: 'start-step' | 'finish-step' | 'reset-step' }
  | { type: 'text-start' | 'text-end'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'tool-input-available'; toolCallId: string; toolName: string; input: unknown; dynamic: true }
  | { type: 'tool-output-available'; toolCallId: string; output: unknown; dynamic: true }
  | { type: 'tool-output-error'; toolCallId: string; errorText: string; dynamic: true }
  | { type: 'data-approval'; id: string; data: ApprovalPart }
  | { type: 'error'; errorText: string };

/** What a `data-approval` part carries: enough to decide through `POST /v1/runs/:id/decisions`. */
export interface ApprovalPart {
  runId: string;
  callId: string;
  tool: string;
  agent: string;
  /** The arguments as the approver sees them (parsed JSON when they parse, else the raw text). */
  arguments: unknown;
  argsHash?: string;
}

/** The headers of a UI message stream response (as the `ai` package's `UI_MESSAGE_STREAM_HEADERS`). */
export const UI_STREAM_HEADERS = { 'x-vercel-ai-ui-message-stream': 'v1', 'x-accel-buffering': 'no' } as const;

const parseArgs = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** Turns one run's events into chunks; keeps which step and text part are open. */
export class UiMessageChunks {
  private stepOpen = false;
  private turn = 0;
  /** The open text part of the current turn's token deltas, and the delta attempt it shows. */
  private text?: { id: string; attempt: number; streamed: string };
  /** Turns whose model text landed as an item: later deltas of them are stale. */
  private landedTurn = 0;
  /**
   * Deltas of a turn whose durable `turn` event has not come yet: deltas come straight from the broker, durable
   * events a little later from the run, so a turn's first deltas can overtake the previous turn's tool results.
   */
  private early: DeltaEvent[] = [];

  constructor(
    private readonly runId: string,
    private readonly messageId?: string,
  ) {}

  start(): UiChunk[] {
    return [{ type: 'start', ...(this.messageId ? { messageId: this.messageId } : {}) }];
  }

  /** The chunks an event stands for (none for events a chat does not show). */
  next(event: RunEvent): UiChunk[] {
    if ('run' in event && event.run) return []; // a child run's event: the chat shows the run it talks to
    switch (event.type) {
      case 'turn':
        return this.turnStarted(event.turn);
      case 'delta':
        return this.delta(event);
      case 'item':
        return this.item(event.item);
      case 'approval_requested': {
        const a = event.approval;
        const data: ApprovalPart = {
          runId: this.runId,
          callId: a.callId,
          tool: a.tool,
          agent: a.agent,
          arguments: parseArgs(a.arguments),
          ...(a.argsHash ? { argsHash: a.argsHash } : {}),
        };
        return [{ type: 'data-approval', id: a.callId, data }];
      }
      case 'status':
        return event.status === 'failed'
          ? [
              {
                type: 'error',
                errorText: event.error ? `${event.error.type}: ${event.error.message}` : 'the run failed',
              },
            ]
          : [];
      default:
        return [];
    }
  }

  /** Closes what is open and finishes the message. */
  finish(finishReason: 'stop' | 'error' | 'other' = 'stop'): UiChunk[] {
    return [...this.closeStep(), { type: 'finish', finishReason }];
  }

  private startTurn(turn: number): UiChunk[] {
    const out = this.closeStep();
    this.turn = turn;
    this.stepOpen = true;
    return [...out, { type: 'start-step' }];
  }

  private closeStep(): UiChunk[] {
    const out: UiChunk[] = this.text ? [{ type: 'text-end', id: this.text.id }] : [];
    this.text = undefined;
    if (this.stepOpen) out.push({ type: 'finish-step' });
    this.stepOpen = false;
    return out;
  }

  /** The step a chunk belongs to: a stream joined mid-turn opens one. */
  private ensureStep(turn: number): UiChunk[] {
    return this.stepOpen && turn === this.turn ? [] : this.startTurn(turn);
  }

  private turnStarted(turn: number): UiChunk[] {
    const out = this.startTurn(turn);
    const due = this.early.filter((d) => d.turn === turn);
    this.early = this.early.filter((d) => d.turn > turn);
    return [...out, ...due.flatMap((d) => this.delta(d))];
  }

  private delta(d: DeltaEvent): UiChunk[] {
    const { turn, attempt, text } = d;
    if (turn <= this.landedTurn || turn < this.turn) return [];
    if (turn > this.turn || !this.stepOpen) {
      this.early.push(d);
      return [];
    }
    const out: UiChunk[] = [];
    if (this.text && attempt > this.text.attempt) {
      // The model call was retried: its text starts again, so the step's parts go.
      out.push({ type: 'reset-step' });
      this.text = undefined;
    } else if (this.text && attempt < this.text.attempt) {
      return out;
    }
    if (!this.text) {
      this.text = { id: `text-${turn}-${attempt}`, attempt, streamed: '' };
      out.push({ type: 'text-start', id: this.text.id });
    }
    this.text.streamed += text;
    out.push({ type: 'text-delta', id: this.text.id, delta: text });
    return out;
  }

  private item(item: Extract<RunEvent, { type: 'item' }>['item']): UiChunk[] {
    switch (item.type) {
      case 'message':
        return item.role === 'assistant' ? this.assistantText(item.content) : [];
      case 'tool_call':
        return [
          ...this.ensureStep(this.turn),
          {
            type: 'tool-input-available',
            toolCallId: item.callId,
            toolName: item.name,
            input: parseArgs(item.arguments),
            dynamic: true,
          },
        ];
      case 'tool_result':
        return [
          ...this.ensureStep(this.turn),
          item.isError
            ? { type: 'tool-output-error', toolCallId: item.callId, errorText: item.output, dynamic: true }
            : { type: 'tool-output-available', toolCallId: item.callId, output: item.output, dynamic: true },
        ];
      default:
        return [];
    }
  }

  /** The model's whole text landed: end the streamed part with what deltas missed, or send it as one part. */
  private assistantText(content: string): UiChunk[] {
    const out = this.ensureStep(this.turn);
    this.landedTurn = this.turn;
    const open = this.text;
    this.text = undefined;
    if (open && content.startsWith(open.streamed)) {
      const rest = content.slice(open.streamed.length);
      return [
        ...out,
        ...(rest ? [{ type: 'text-delta' as const, id: open.id, delta: rest }] : []),
        { type: 'text-end', id: open.id },
      ];
    }
    const id = `text-${this.turn}`;
    if (open) out.push({ type: 'reset-step' }); // what was streamed is not what landed: show what landed
    return [...out, { type: 'text-start', id }, { type: 'text-delta', id, delta: content }, { type: 'text-end', id }];
  }
}
