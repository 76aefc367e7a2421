/** Reading a `keel serve` Server-Sent Events response as it arrives (tests and the bench). */

export type SseEvent = {
  id?: string;
  event: string;
  data: { type: string; seq: number; status?: string; at?: string; item?: { type: string } };
};

function parseBlock(block: string): SseEvent | undefined {
  if (!block.includes('data:')) return undefined;
  const field = (name: string) =>
    block
      .split('\n')
      .find((l) => l.startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim();
  return { id: field('id'), event: field('event') ?? 'message', data: JSON.parse(field('data')!) };
}

/**
 * Reads an SSE response's events as they come, to its end or until `stop` says so (then disconnects). `onEvent`
 * sees each event the moment it is parsed.
 */
export async function readEvents(
  r: Response,
  stop: (e: SseEvent) => boolean = () => false,
  onEvent?: (e: SseEvent) => void,
): Promise<SseEvent[]> {
  const reader = r.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    text += decoder.decode(value, { stream: true });
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
      const event = parseBlock(text.slice(0, end));
      text = text.slice(end + 2);
      if (!event) continue;
      onEvent?.(event);
      events.push(event);
      if (stop(event)) {
        await reader.cancel();
        return events;
      }
    }
  }
}
