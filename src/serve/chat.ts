/**
 * `POST /v1/runs/:id/chat`: the AI SDK chat route. Sends the request's last user message to a conversation run and
 * streams what the run does with it (text, tool calls and results, approval requests) as a UI message stream, up
 * to the answer (the run waits for input again) or the run's end. A run paused on an approval keeps the stream
 * open: the front end decides through `/v1/runs/:id/decisions` and the answer follows on the same stream.
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { z } from 'zod';
import type { KeelClient } from '../client.js';
import { isTerminal } from '../live/events.js';
import { eventsQuery } from '../workflows/messages.js';
import { HttpError } from './http-error.js';
import type { ChatBody } from './schemas.js';
import { UI_STREAM_HEADERS, UiMessageChunks, type UiChunk } from './ui-message-stream.js';

/** The text of the last message, which must be the user's. */
function lastUserText(body: z.infer<typeof ChatBody>): string {
  const last = body.messages[body.messages.length - 1];
  if (last.role !== 'user')
    throw new HttpError(
      400,
      `body.messages.${body.messages.length - 1}.role: the last message must be the user's, not '${last.role}'`,
    );
  const text = last.parts.flatMap((p) => (p.type === 'text' && p.text ? [p.text] : [])).join('\n');
  if (!text)
    throw new HttpError(400, `body.messages.${body.messages.length - 1}.parts: the last user message has no text part`);
  return text;
}

async function write(stream: SSEStreamingApi, chunks: UiChunk[]): Promise<void> {
  for (const chunk of chunks) await stream.writeSSE({ data: JSON.stringify(chunk) });
}

export async function chatStream(
  c: Context,
  client: KeelClient,
  runId: string,
  body: z.infer<typeof ChatBody>,
): Promise<Response> {
  const text = lastUserText(body);
  const handle = client.temporal.workflow.getHandle(runId);
  const { status } = await handle.describe(); // an unknown run is a 404 before the stream starts
  if (status.name !== 'RUNNING')
    throw new HttpError(409, `run ${runId} has ended (${status.name.toLowerCase()}): it takes no more messages`);
  // Events from here on answer this message; earlier ones the chat already showed.
  const { lastSeq } = await handle.query(eventsQuery, Number.MAX_SAFE_INTEGER);
  for (const [name, value] of Object.entries(UI_STREAM_HEADERS)) c.header(name, value);
  return streamSSE(c, async (stream) => {
    const stop = new AbortController();
    stream.onAbort(() => stop.abort());
    const chunks = new UiMessageChunks(runId);
    let seen = lastSeq;
    let answered: number | undefined;
    let failure: string | undefined;
    // The answer's status event `seq`: the stream ends once it has passed it.
    void client.sendInput(runId, text).then(
      (r) => ((answered = r.seq), seen >= r.seq && stop.abort()),
      (err: unknown) => ((failure = (err as Error).message), stop.abort()),
    );
    await write(stream, chunks.start());
    let reason: 'stop' | 'error' = 'stop';
    try {
      for await (const event of client.stream(runId, { after: lastSeq, signal: stop.signal })) {
        await write(stream, chunks.next(event));
        if (event.type === 'delta' || event.type === 'gap') continue;
        seen = event.seq;
        if (event.type === 'status' && isTerminal(event.status)) {
          if (event.status !== 'completed') reason = 'error';
          break;
        }
        if (answered !== undefined && seen >= answered) break;
      }
    } catch (err) {
      if (!stop.signal.aborted) failure = (err as Error).message;
    }
    if (stream.aborted) return; // the client went away: the run goes on, `GET /v1/runs/:id/events` resumes
    if (failure) await write(stream, [{ type: 'error', errorText: failure }]);
    await write(stream, chunks.finish(failure ? 'error' : reason));
    await stream.writeSSE({ data: '[DONE]' });
  });
}
