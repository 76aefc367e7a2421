// Shared setup for the sandbox integration tests: one Docker client, a clear failure when the image is missing,
// and sandboxes labelled with the test file's name so a crashed run's leftovers are recognisable and reapable.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { defaultSandboxImage } from '../../src/agents/defaults.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import type { SandboxLimits, StartedSandbox } from '../../src/sandbox/types.js';

export const docker = new Docker();
export const client = new DockerSandboxClient({ docker });
export const image = defaultSandboxImage();

/** Fails with a message saying how to get the image (and that Docker must run) instead of an engine error. */
export async function requireImage(): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(`Docker is not reachable (${(err as Error).message}); run scripts/ensure-docker.sh`);
  }
  try {
    await docker.getImage(image).inspect();
  } catch {
    throw new Error(`sandbox image ${image} is missing; build it with scripts/build-sandbox-image.sh`);
  }
}

/** Creates a sandbox labelled `test:<suite>`. */
export async function createSandbox(suite: string, limits?: Partial<SandboxLimits>): Promise<StartedSandbox> {
  await requireImage();
  return client.create({ image, labels: { workflowId: `test:${suite}`, runId: randomUUID() }, limits });
}
