/** `write_file`: creates or overwrites a file of the workspace with the given text. */
import { z } from 'zod';
import { defineSandboxTool, stringArg } from './define.js';

export const writeFile = defineSandboxTool({
  name: 'write_file',
  description: 'Create or overwrite a file in the workspace.',
  parameters: z.object({ path: z.string().min(1), content: z.string() }),
  capability: 'filesystem',
  writes: true,
  runsCommands: false,
  async run(a, ctx) {
    await ctx.sandbox.writeFile(a.path, a.content);
    return { output: `wrote ${Buffer.byteLength(a.content)} bytes to ${a.path}` };
  },
  changesWorkspace: (out) => !out.isError,
  brief: (args) => stringArg(args, 'path'),
  audit: (args) => {
    const path = stringArg(args, 'path');
    const content = stringArg(args, 'content');
    return path === undefined || content === undefined ? undefined : { type: 'write', path, content };
  },
});
