/**
 * What a run's sandbox tool calls did, for the audit: the commands with their output, and each file change as a
 * diff. Each built-in tool says what its calls do (its `audit` effect, src/tools/sandbox/); this turns the effects
 * into records: a write against the content the run last saw of that file, a patch as the patch it applied.
 */
import { sandboxToolNamed, type AuditEffect, type SandboxToolName } from '../tools/sandbox/index.js';
import type { CommandRecord, FileChangeRecord, ToolCallRecord } from './document.js';

function args(call: ToolCallRecord): Record<string, unknown> {
  try {
    const parsed = JSON.parse(call.arguments) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The call's effect by its built-in tool's definition, with that tool's name; undefined for other tools. */
function effectOf(call: ToolCallRecord): { tool: SandboxToolName; effect: AuditEffect } | undefined {
  const tool = sandboxToolNamed(call.tool);
  const effect = tool?.audit?.(args(call));
  return tool && effect ? { tool: tool.name, effect } : undefined;
}

export function deriveCommands(calls: ToolCallRecord[]): CommandRecord[] {
  return calls.flatMap((c) => {
    const effect = effectOf(c)?.effect;
    if (effect?.type !== 'command') return [];
    const exit = /^exit code: (-?\d+)/m.exec(c.output ?? '');
    return [
      {
        callId: c.callId,
        cmd: effect.cmd,
        ...(effect.workdir !== undefined ? { workdir: effect.workdir } : {}),
        ...(exit ? { exitCode: Number(exit[1]) } : {}),
        output: c.output ?? (c.error ? `(failed: ${c.error.message})` : '(no result: not run)'),
      },
    ];
  });
}

export function deriveFileChanges(calls: ToolCallRecord[]): FileChangeRecord[] {
  const known = new Map<string, string>(); // path -> last content the run read or wrote
  const changes: FileChangeRecord[] = [];
  for (const c of calls) {
    const { tool, effect } = effectOf(c) ?? {};
    if (!tool || !effect) continue;
    const ok = c.output !== undefined && !c.isError && !c.error;
    if (effect.type === 'read' && ok) known.set(effect.path, c.output!);
    if (effect.type === 'write') {
      const diff = unifiedDiff(effect.path, known.get(effect.path), effect.content);
      changes.push({ callId: c.callId, tool, paths: [effect.path], diff, applied: ok });
      if (ok) known.set(effect.path, effect.content);
    }
    if (effect.type === 'patch') {
      changes.push({ callId: c.callId, tool, paths: effect.paths, diff: effect.patch, applied: ok });
      effect.paths.forEach((p) => known.delete(p)); // its new content is not in history; a later write diffs against unknown
    }
  }
  return changes;
}

/** A unified diff of two texts (whole file as one hunk); `before` undefined means the previous content is not known. */
export function unifiedDiff(file: string, before: string | undefined, after: string): string {
  const header =
    before === undefined
      ? `--- ${file} (previous content not recorded in this run)\n+++ ${file}`
      : `--- a/${file}\n+++ b/${file}`;
  const a = before === undefined || before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  return `${header}\n@@ -1,${a.length} +1,${b.length} @@\n${lineDiff(a, b).join('\n')}`;
}

/** Line diff by longest common subsequence: ' ' kept, '-' removed, '+' added. */
function lineDiff(a: string[], b: string[]): string[] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(` ${a[i++]}`);
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) out.push(`-${a[i++]}`);
    else out.push(`+${b[j++]}`);
  }
  return out;
}
