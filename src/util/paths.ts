/**
 * Where the embedded stack keeps its files: `.keel/` under the project (or KEEL_HOME).
 */
import * as path from 'node:path';

export function keelHome(): string {
  return path.resolve(process.env.KEEL_HOME ?? '.keel');
}

export const keelPaths = {
  temporalDb: () => path.join(keelHome(), 'temporal.sqlite'),
  temporalBin: () => path.join(keelHome(), 'bin', 'temporal'),
  snapshots: () => path.join(keelHome(), 'snapshots'),
  blobs: () => path.join(keelHome(), 'blobs'),
  memory: () => path.join(keelHome(), 'memory'),
};
