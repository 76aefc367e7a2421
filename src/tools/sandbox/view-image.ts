/** `view_image`: an image of the workspace given back to the model (stored in the blob store by hash). */
import { z } from 'zod';
import { detectImage, MAX_IMAGE_BYTES } from '../../sandbox/images.js';
import { defineSandboxTool, stringArg } from './define.js';

export const viewImage = defineSandboxTool({
  name: 'view_image',
  description: 'Look at an image file (PNG, JPEG, GIF or WebP, up to 10 MB) in the workspace.',
  parameters: z.object({ path: z.string().min(1) }),
  capability: 'filesystem',
  writes: false,
  runsCommands: false,
  async run(a, ctx) {
    const bytes = await ctx.sandbox.readFile(a.path, { maxBytes: MAX_IMAGE_BYTES });
    const kind = detectImage(bytes);
    if (!kind) return { output: `Error: ${a.path} is not a PNG, JPEG, GIF or WebP image.`, isError: true };
    const blob = await ctx.blobs.put(bytes);
    return {
      output: `image ${a.path} (${kind.mediaType}, ${bytes.length} bytes)`,
      image: { mediaType: kind.mediaType, blob },
    };
  },
  changesWorkspace: () => false,
  brief: (args) => stringArg(args, 'path'),
});
