/**
 * What the Web UI shows of a run while it runs: activity summaries that carry the command or the tool's
 * arguments in brief (and the previous turn's failed calls), and the current details of a run waiting for a
 * human, with the exact command to approve. Pure, so it replays identically.
 */
import type { PendingApproval, RunItem } from './run-state.js';
import { patchBrief } from '../util/patch-files.js';

/** Inline code that survives any content (backticks, `<angle brackets>`, `--`), on one line. */
export function codeSpan(text: string): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  const longest = Math.max(0, ...[...oneLine.matchAll(/`+/g)].map((m) => m[0].length));
  if (longest === 0) return `\`${oneLine}\``;
  const fence = '`'.repeat(longest + 1);
  return `${fence} ${oneLine} ${fence}`;
}

function brief(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/**
 * The arguments a person recognises a call by, by their shape: the command line (`cmd`), the patched files (a V4A
 * `patch`), the `path`, else `key=value, ...`. Workflow code cannot read the built-in tools' table (zod), so this
 * goes by shape; test/unit/sandbox-tools.test.ts checks it agrees with each built-in's own `brief`.
 */
export function briefArguments(args: string, max = 80): string {
  let parsed: Record<string, unknown> | undefined;
  try {
    const value = JSON.parse(args) as unknown;
    if (value && typeof value === 'object') parsed = value as Record<string, unknown>;
  } catch {
    return brief(args, max);
  }
  if (typeof parsed?.cmd === 'string') return brief(parsed.cmd, max);
  const patched = typeof parsed?.patch === 'string' ? patchBrief(parsed.patch) : '';
  if (patched) return brief(patched, max);
  if (typeof parsed?.path === 'string') return brief(parsed.path, max);
  if (!parsed) return brief(args, max);
  return brief(
    Object.entries(parsed)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(', '),
    max,
  );
}

export function toolSummary(call: { name: string; arguments: string }): string {
  const args = briefArguments(call.arguments);
  return args ? `tool ${call.name} · ${args}` : `tool ${call.name}`;
}

/** Names of the tool calls that failed since the last model output (what the next model call answers). */
export function failedSinceLastTurn(items: RunItem[]): string[] {
  const failed: string[] = [];
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item.type === 'tool_call' || item.type === 'message') break;
    if (item.type === 'tool_result' && item.isError) failed.unshift(item.name);
  }
  return failed;
}

export function modelSummary(model: string, turn: number, items: RunItem[]): string {
  const failed = failedSinceLastTurn(items);
  return `model ${model} · turn ${turn}${failed.length ? ` · after ✗ ${failed.join(', ')} failed` : ''}`;
}

/** Current details of a run waiting for a human: what waits, and the exact commands to decide. */
export function pendingDetails(pending: PendingApproval[], runId: string): string {
  const lines = pending.map((p) => `- **${p.tool}** ${codeSpan(p.callId)}: ${codeSpan(p.arguments.slice(0, 200))}`);
  const commands = pending.map((p) => `keel approve ${runId} ${p.callId} --by YOUR_NAME`);
  if (pending.length > 1) commands.push(`keel approve ${runId} --all --by YOUR_NAME`);
  const header = `**Awaiting approval (${pending.length})**: a human must decide before the run continues.`;
  return [
    header,
    lines.join('\n'),
    'Approve (or `keel reject` with the same arguments):',
    ['```', ...commands, '```'].join('\n'),
  ].join('\n\n');
}
