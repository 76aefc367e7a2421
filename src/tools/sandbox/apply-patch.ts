/** `apply_patch`: a V4A patch (add, update, delete or move files) applied to the workspace, all or nothing. */
import { z } from 'zod';
import { SandboxError } from '../../errors.js';
import { applyPatch, PatchError, type PatchResult } from '../../sandbox/apply-patch.js';
import type { StartedSandbox } from '../../sandbox/types.js';
import { patchBrief, patchedFiles } from '../../util/patch-files.js';
import { defineSandboxTool, MAX_READ_BYTES, stringArg } from './define.js';

/** The patch's file operations on the container: a missing file reads as undefined (an Add File target). */
function workspaceFiles(sandbox: StartedSandbox) {
  return {
    read: async (p: string) => {
      try {
        return (await sandbox.readFile(p, { maxBytes: MAX_READ_BYTES })).toString('utf8');
      } catch (err) {
        if (err instanceof SandboxError && err.code === 'not_found') return undefined;
        throw err;
      }
    },
    write: (p: string, content: string) => sandbox.writeFile(p, content),
    remove: (p: string) => sandbox.removeFile(p),
  };
}

const summary = (r: PatchResult): string[] => [
  ...r.added.map((p) => `A ${p}`),
  ...r.updated.map((p) => `M ${p}`),
  ...r.deleted.map((p) => `D ${p}`),
  ...r.moved.map((m) => `R ${m.from} -> ${m.to}`),
];

export const applyPatchTool = defineSandboxTool({
  name: 'apply_patch',
  description: 'Apply a V4A patch (add, update, delete or move files) to the workspace.',
  parameters: z.object({ patch: z.string().min(1).describe('A V4A patch: *** Begin Patch ... *** End Patch') }),
  capability: 'filesystem',
  writes: true,
  runsCommands: false,
  async run(a, ctx) {
    try {
      const r = await applyPatch(a.patch, workspaceFiles(ctx.sandbox));
      return { output: `patch applied:\n${summary(r).join('\n')}` };
    } catch (err) {
      if (err instanceof PatchError)
        return { output: `Error: the patch was not applied (nothing changed): ${err.message}`, isError: true };
      throw err;
    }
  },
  changesWorkspace: (out) => !out.isError,
  brief: (args) => (typeof args.patch === 'string' ? patchBrief(args.patch) || undefined : undefined),
  audit: (args) => {
    const patch = stringArg(args, 'patch');
    if (patch === undefined) return undefined;
    return { type: 'patch', paths: patchedFiles(patch).map((f) => f.path.trim()), patch };
  },
});
