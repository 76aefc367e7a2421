/**
 * What the demo's fixer run did, read from its RunState: the commands it ran, the diff it showed, and the last test
 * command with its exit code. The demo's verdict rests on that last test command, not on the run completing.
 */
import type { RunState, ToolCallItem, ToolResultItem } from '../../workflows/run-state.js';

export interface ExecRecord {
  cmd: string;
  exitCode?: number;
  output: string;
}

export interface FixerReport {
  commands: ExecRecord[];
  /** The last `git diff` output the run saw, from its `diff --git` line. */
  diff?: string;
  lastTest?: ExecRecord;
  /** Why the fix did not succeed; undefined when it did. */
  problem?: string;
}

const TEST_COMMAND = /\b(unittest|pytest)\b/;

function cmdOf(call: ToolCallItem): string {
  try {
    const { cmd } = JSON.parse(call.arguments) as { cmd?: unknown };
    return typeof cmd === 'string' ? cmd : call.arguments;
  } catch {
    return call.arguments; // the model's own bad JSON, shown as it sent it
  }
}

function execRecords(state: RunState): ExecRecord[] {
  const results = new Map(
    state.items.filter((i): i is ToolResultItem => i.type === 'tool_result').map((r) => [r.callId, r]),
  );
  return state.items
    .filter((i): i is ToolCallItem => i.type === 'tool_call' && i.name === 'exec_command')
    .map((call) => {
      const output = results.get(call.callId)?.output ?? '';
      const code = /^exit code: (\d+)/.exec(output);
      return { cmd: cmdOf(call), output, ...(code ? { exitCode: Number(code[1]) } : {}) };
    });
}

export function fixerReport(state: RunState): FixerReport {
  const commands = execRecords(state);
  const withDiff = [...commands].reverse().find((c) => c.output.includes('diff --git'));
  const diff = withDiff?.output.slice(withDiff.output.indexOf('diff --git')).split('\nstderr:')[0].trimEnd();
  const lastTest = [...commands].reverse().find((c) => TEST_COMMAND.test(c.cmd));
  const problem =
    runProblem(state) ??
    (!lastTest
      ? 'it never ran the tests'
      : lastTest.exitCode !== 0
        ? `the last test command (${lastTest.cmd}) exited ${lastTest.exitCode ?? 'without an exit code'}`
        : undefined);
  return { commands, ...(diff ? { diff } : {}), ...(lastTest ? { lastTest } : {}), ...(problem ? { problem } : {}) };
}

/** Why a run did not complete, in words; undefined when it did. */
export function runProblem(state: RunState): string | undefined {
  return state.status === 'completed'
    ? undefined
    : `the run ended ${state.status}${state.error ? ` (${state.error.message})` : ''}`;
}
