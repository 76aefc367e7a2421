// The microVM tier for tests: builds (or finds cached) the kernel, initramfs and root filesystem for the sandbox
// image with scripts/build-microvm.sh, then returns a client. Fails with the script's own message when it cannot.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { defaultSandboxImage } from '../../src/agents/registry.js';
import { MicroVMSandboxClient } from '../../src/sandbox/microvm.js';
import type { MicroVMImage } from '../../src/sandbox/microvm-image.js';
import { requireImage } from './sandbox-fixture.js';

const run = promisify(execFile);
let built: Promise<string> | undefined;

/** Builds the microVM files for the default sandbox image once per process; resolves to the manifest's path. */
export function buildMicroVM(): Promise<string> {
  built ??= requireImage().then(async () => {
    try {
      const { stdout } = await run('bash', ['scripts/build-microvm.sh', defaultSandboxImage()], { maxBuffer: 1 << 20 });
      return stdout.trim().split('\n').pop()!;
    } catch (err) {
      throw new Error(`scripts/build-microvm.sh failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
    }
  });
  return built;
}

/** A client for microVM sandboxes of the default image (accelerator chosen as in production: auto). */
export async function microvmClient(): Promise<MicroVMSandboxClient> {
  await buildMicroVM();
  return new MicroVMSandboxClient();
}

export async function microvmManifest(): Promise<MicroVMImage> {
  return JSON.parse(await readFile(await buildMicroVM(), 'utf8')) as MicroVMImage;
}

/** The microVM tier of the per-tier sandbox suites (test/helpers/sandbox-tiers.ts). */
export const microvmTier = {
  name: 'microvm',
  client: new MicroVMSandboxClient(),
  ready: async (): Promise<void> => {
    await buildMicroVM();
  },
};
