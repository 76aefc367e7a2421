/**
 * Writes a file whole or not at all: into a temporary name of its own, then renamed into place. The temporary name
 * is unique per write, not per process: two writes of one path at once in one process (two runs storing the same
 * blob in the same millisecond) each rename their own file, and neither loses its temporary to the other.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/** Files ending in this are partial writes (listings skip them). */
export const PARTIAL_SUFFIX = '.tmp';

export async function writeFileAtomic(target: string, data: Buffer | string): Promise<void> {
  const tmp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
