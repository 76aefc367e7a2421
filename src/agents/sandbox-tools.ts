/**
 * Argument schemas and descriptions of the built-in sandbox tools. The activity validates the model's
 * arguments against the same schemas that the model is shown.
 */
import { z } from 'zod';
import type { SandboxToolName } from './capabilities.js';

export const sandboxToolSchemas = {
  exec_command: z.object({
    cmd: z.string().min(1).describe('A bash command line'),
    workdir: z.string().optional().describe('Working directory, relative to /workspace'),
    timeout_ms: z.number().int().positive().max(3_600_000).optional().describe('Kill the command after this long'),
    max_output_bytes: z.number().int().positive().max(1_000_000).optional().describe('Cap on returned output bytes'),
  }),
  read_file: z.object({ path: z.string().min(1) }),
  write_file: z.object({ path: z.string().min(1), content: z.string() }),
  list_dir: z.object({ path: z.string().default('.') }),
  apply_patch: z.object({ patch: z.string().min(1).describe('A V4A patch: *** Begin Patch ... *** End Patch') }),
  view_image: z.object({ path: z.string().min(1) }),
} satisfies Record<SandboxToolName, z.ZodType>;

export const sandboxToolDescriptions: Record<SandboxToolName, string> = {
  exec_command: 'Run a bash command in the sandbox and return its exit code and output.',
  read_file: 'Read a UTF-8 text file in the workspace.',
  write_file: 'Create or overwrite a file in the workspace.',
  list_dir: 'List a directory in the workspace.',
  apply_patch: 'Apply a V4A patch (add, update, delete or move files) to the workspace.',
  view_image: 'Look at an image file (PNG, JPEG, GIF or WebP, up to 10 MB) in the workspace.',
};
