/** `list_dir`: one directory of the workspace, one line per entry (type, size, name). */
import { z } from 'zod';
import { defineSandboxTool, stringArg } from './define.js';

export const listDir = defineSandboxTool({
  name: 'list_dir',
  description: 'List a directory in the workspace.',
  parameters: z.object({ path: z.string().default('.') }),
  capability: 'filesystem',
  writes: false,
  runsCommands: false,
  async run(a, ctx) {
    const entries = await ctx.sandbox.listDir(a.path);
    const lines = entries.map(
      (e) => `${e.type === 'dir' ? 'd' : e.type === 'symlink' ? 'l' : '-'} ${String(e.size).padStart(9)} ${e.name}`,
    );
    return { output: lines.join('\n') || '(empty directory)' };
  },
  changesWorkspace: () => false,
  brief: (args) => stringArg(args, 'path'),
});
