/**
 * `keel files` and `keel diff`: a run's workspace after the fact, from the snapshot store (KEEL_STORE or
 * KEEL_HOME) and the run's history; no worker and no container needed. Binary files are never printed: they are
 * named with their size and extracted with `--out`.
 */
import { KeelError } from '../errors.js';
import type { RunWorkspace, WorkspaceEntry } from '../results/workspace.js';
import { connectClient, str, usage, type Command, type Values } from './command.js';

/** What a caller got wrong (a path outside the workspace, an unknown run or turn, a cap): exit 2, one line. */
const USER_ERRORS = new Set(['path_escape', 'not_found', 'too_large']);

async function openWorkspace(runId: string | undefined, values: Values): Promise<RunWorkspace> {
  if (!runId) usage('needs a run id');
  const raw = str(values, 'turn');
  const turn = raw === undefined ? undefined : Number(raw);
  if (raw !== undefined && (!/^\d+$/.test(raw) || !Number.isSafeInteger(turn)))
    usage(`--turn must be a whole number >= 0, not ${JSON.stringify(raw)}`);
  return (await connectClient()).workspace(runId, { turn });
}

async function asUserErrors(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof KeelError && USER_ERRORS.has(err.code))
      throw new KeelError('bad_usage', err.message, { cause: err });
    throw err;
  }
}

/** Git's heuristic: a NUL byte in the first 8000 bytes. */
export function looksBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, 8000).includes(0);
}

function formatEntry(e: WorkspaceEntry): string {
  const kind = e.type === 'directory' ? 'd' : e.type === 'symlink' ? 'l' : e.type === 'link' ? 'h' : '-';
  const name = e.type === 'directory' ? `${e.path}/` : e.linkname !== undefined ? `${e.path} -> ${e.linkname}` : e.path;
  return `${kind} ${String(e.size ?? '').padStart(10)} ${name}`;
}

export const files: Command = {
  name: 'files',
  usage:
    "files <runId> [path] [--out DIR] [--turn N]  lists, prints (text only) or extracts (into a new or empty DIR) the run's workspace",
  options: { out: { type: 'string' }, turn: { type: 'string' } },
  run: ([runId, path], values) =>
    asUserErrors(async () => {
      const ws = await openWorkspace(runId, values);
      const out = str(values, 'out');
      if (out) {
        const count = await ws.extract(out, path);
        console.log(`extracted ${count} entries of ${runId} (snapshot of turn ${ws.snapshot.turn}) into ${out}`);
        return 0;
      }
      const entry = await ws.stat(path ?? '');
      if (entry.type === 'directory') {
        for (const e of await ws.list(path)) console.log(formatEntry(e));
        return 0;
      }
      const bytes = await ws.read(path!);
      if (looksBinary(bytes))
        throw new KeelError(
          'bad_usage',
          `${path} is a binary file (${bytes.length} bytes); not printed: extract it with --out DIR`,
        );
      process.stdout.write(bytes);
      return 0;
    }),
};

export const diff: Command = {
  name: 'diff',
  usage:
    'diff <runId> [--turn N]       what the run changed in its workspace since it started (unified diff, git format)',
  options: { turn: { type: 'string' } },
  run: ([runId], values) =>
    asUserErrors(async () => {
      process.stdout.write(await (await openWorkspace(runId, values)).diff());
      return 0;
    }),
};
