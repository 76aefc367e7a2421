/** `read_file`: a UTF-8 text file of the workspace, up to MAX_READ_BYTES. */
import { z } from 'zod';
import { defineSandboxTool, MAX_READ_BYTES, stringArg } from './define.js';

export const readFile = defineSandboxTool({
  name: 'read_file',
  description: 'Read a UTF-8 text file in the workspace.',
  parameters: z.object({ path: z.string().min(1) }),
  capability: 'filesystem',
  writes: false,
  runsCommands: false,
  async run(a, ctx) {
    return { output: (await ctx.sandbox.readFile(a.path, { maxBytes: MAX_READ_BYTES })).toString('utf8') };
  },
  changesWorkspace: () => false,
  brief: (args) => stringArg(args, 'path'),
  // What the run saw of the file: a later write_file of it is audited as a diff against this.
  audit: (args) => {
    const path = stringArg(args, 'path');
    return path === undefined ? undefined : { type: 'read', path };
  },
});
