// The microVM tier for tests: builds (or finds cached) the kernel, initramfs and root filesystem of a sandbox
// image with scripts/build-microvm.sh, then returns a client. Fails with the script's own message when it cannot.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { defaultSandboxImage } from '../../src/agents/defaults.js';
import { MicroVMSandboxClient } from '../../src/sandbox/microvm.js';
import type { MicroVMImage } from '../../src/sandbox/microvm-image.js';
import { docker, requireImage } from './sandbox-fixture.js';

const run = promisify(execFile);
const built = new Map<string, Promise<string>>();
/** The busybox-only image the agent suite uses (scripts/build-minimal-image.sh). */
const MINIMAL_IMAGE = 'keel-sandbox-minimal:latest';

/** Builds the microVM files for `image` once per process; resolves to the manifest's path. */
export function buildMicroVM(image = defaultSandboxImage()): Promise<string> {
  let manifest = built.get(image);
  if (!manifest) {
    manifest = requireImage().then(async () => {
      try {
        const { stdout } = await run('bash', ['scripts/build-microvm.sh', image], { maxBuffer: 1 << 20 });
        return stdout.trim().split('\n').pop()!;
      } catch (err) {
        throw new Error(
          `scripts/build-microvm.sh ${image} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`,
        );
      }
    });
    built.set(image, manifest);
  }
  return manifest;
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
  /** Builds the VM files of the images the suites use (the minimal one once its suite has built it). */
  ready: async (): Promise<void> => {
    await buildMicroVM();
    const minimal = await docker
      .getImage(MINIMAL_IMAGE)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    if (minimal) await buildMicroVM(MINIMAL_IMAGE);
  },
};
