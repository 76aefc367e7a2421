/**
 * `keel chat <agent>`: an interactive conversation in the terminal. Each line is sent to the run (the first one
 * starts it with `conversation: true`); answers stream as they are generated. `/approve` and `/reject [reason]`
 * decide the calls waiting for approval; end of input (Ctrl-D) closes the conversation.
 */
import { createInterface } from 'node:readline';
import type { KeelClient } from '../client.js';
import type { RunEvent } from '../live/events.js';
import { isTerminal } from '../live/events.js';
import { EventPrinter, exitCodeFor } from './render.js';
import { connectClient, str, usage, type Command } from './command.js';
import { parseContext } from './run.js';

export interface ChatOptions {
  id?: string;
  context?: unknown;
  input?: NodeJS.ReadableStream;
  write?: (text: string) => void;
  /** Who `/approve` and `/reject` name as the approver. Default $USER. */
  approver?: string;
}

/** A point where the user may type again: an answer, a call waiting for approval, or the end of the run. */
const isPause = (e: RunEvent) =>
  e.type === 'approval_requested' || (e.type === 'status' && (e.status === 'awaiting_input' || isTerminal(e.status)));

export async function chat(client: KeelClient, agent: string, options: ChatOptions = {}): Promise<number> {
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const interactive = !options.input && process.stdin.isTTY;
  const lines = createInterface({ input: options.input ?? process.stdin, terminal: false });
  const approver = options.approver ?? process.env.USER ?? 'chat';
  let runId: string | undefined;
  let printer: EventPrinter | undefined;
  let streaming: Promise<void> | undefined;
  let resume: (() => void) | undefined;
  const paused = () => new Promise<void>((resolve) => (resume = resolve));

  const follow = async (id: string) => {
    printer = new EventPrinter(id, write);
    for await (const event of client.stream(id)) {
      printer.print(event);
      if (isPause(event)) resume?.();
    }
    resume?.();
  };
  if (interactive) write('you> ');
  for await (const line of lines) {
    const text = line.trim();
    if (!text) continue;
    const pause = paused();
    if (!runId) {
      runId = await client.startRun(agent, text, { id: options.id, context: options.context, conversation: true });
      write(`(conversation ${runId}; Ctrl-D ends it)\n`);
      streaming = follow(runId);
    } else if (text === '/approve' || text.startsWith('/reject')) {
      const decision = text === '/approve' ? 'approve' : 'reject';
      await client.decideAll(runId, decision, {
        by: approver,
        reason: text.slice('/reject'.length).trim() || undefined,
      });
    } else {
      client
        .sendInput(runId, text)
        .catch((err: unknown) => write(`keel: ${err instanceof Error ? err.message : String(err)}\n`));
    }
    await pause;
    if (printer?.status && isTerminal(printer.status)) break;
    if (interactive) write('you> ');
  }
  if (!runId) return 0;
  if (!printer?.status || !isTerminal(printer.status)) await client.endConversation(runId);
  await streaming;
  return exitCodeFor(printer?.status);
}

export const chatCommand: Command = {
  name: 'chat',
  usage:
    'chat <agent> [--id ID] [--context JSON]   an interactive conversation, streaming; /approve, /reject; Ctrl-D ends it',
  options: { id: { type: 'string' }, context: { type: 'string' } },
  async run([agent], values) {
    if (!agent) usage('chat needs an agent name');
    const context = parseContext(values);
    const client = await connectClient();
    try {
      return await chat(client, agent, { id: str(values, 'id'), context });
    } finally {
      await client.close();
    }
  },
};
