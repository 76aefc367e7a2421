/** `exec_command`: a bash command line in the workspace, killed with its process group at its timeout. */
import { z } from 'zod';
import { defineSandboxTool, stringArg } from './define.js';

/** The longest `timeout_ms` a call may ask for. */
const MAX_COMMAND_MS = 3_600_000;

function formatExec(r: {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  replayed: boolean;
}): string {
  const parts = [
    `exit code: ${r.exitCode}${r.timedOut ? ' (timed out: the command and its process group were killed)' : ''}`,
  ];
  if (r.replayed)
    parts.push('(this command had already run; its recorded result is returned instead of running it again)');
  if (r.stdout) parts.push(`stdout:\n${r.stdout}`);
  if (r.stderr) parts.push(`stderr:\n${r.stderr}`);
  return parts.join('\n');
}

export const execCommand = defineSandboxTool({
  name: 'exec_command',
  description: 'Run a bash command in the sandbox and return its exit code and output.',
  parameters: z.object({
    cmd: z.string().min(1).describe('A bash command line'),
    workdir: z.string().optional().describe('Working directory, relative to /workspace'),
    timeout_ms: z.number().int().positive().max(MAX_COMMAND_MS).optional().describe('Kill the command after this long'),
    max_output_bytes: z.number().int().positive().max(1_000_000).optional().describe('Cap on returned output bytes'),
  }),
  capability: 'shell',
  writes: true,
  approvalField: { field: 'cmd', shell: true },
  // The longest command a call may ask for, plus a minute to report its result.
  timeoutMs: MAX_COMMAND_MS + 60_000,
  runsCommands: true,
  async run(a, ctx) {
    const r = await ctx.sandbox.exec({
      cmd: a.cmd,
      workdir: a.workdir,
      timeoutMs: a.timeout_ms ?? ctx.commandTimeoutMs ?? 60_000,
      maxOutputBytes: a.max_output_bytes ?? ctx.maxToolOutputBytes,
      idempotencyKey: `${ctx.workflowId}/${ctx.callId}`,
      onProgress: ctx.heartbeat,
      signal: ctx.signal,
    });
    // A replayed command ran too (in the attempt that died before reporting): its effect is in the workspace.
    return { output: formatExec(r), isError: r.exitCode !== 0, executed: true };
  },
  changesWorkspace: (out) => out.executed === true,
  brief: (args) => stringArg(args, 'cmd'),
  describe: (args) => (typeof args.cmd === 'string' ? `$ ${args.cmd}` : undefined),
  audit: (args) => {
    const cmd = stringArg(args, 'cmd');
    if (cmd === undefined) return undefined;
    const workdir = stringArg(args, 'workdir');
    return { type: 'command', cmd, ...(workdir !== undefined ? { workdir } : {}) };
  },
});
