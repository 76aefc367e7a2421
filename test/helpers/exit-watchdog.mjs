/**
 * Loaded into every test file's process by the test commands (`--import ./test/helpers/exit-watchdog.mjs`, see
 * scripts/test-integration.sh and package.json's test:unit), so a test file can never hang CI. Plain JavaScript:
 * worker threads (Temporal's workflow threads) inherit the `--import`s before tsx can load TypeScript in them.
 *
 * node:test waits for each file's process to exit, and a process that keeps a worker, a connection, a server or a
 * child process open after its tests never does. Once the file's tests are done (its top-level `after` hooks start),
 * the process gets KEEL_TEST_EXIT_GRACE_S seconds (default 60, its own `after` hooks included) to exit; then this
 * prints one line naming the file and what keeps it alive, kills the processes the file started, and exits 1, so
 * the runner reports the file as failed. A file that runs past node's `--test-timeout` is killed by the runner
 * (SIGTERM); this then kills the processes the file started, so none outlives it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after } from 'node:test';
import { isMainThread } from 'node:worker_threads';

const PREFIX = 'keel test watchdog';

/**
 * Every live process below `root`, children before their own children, with its command name.
 * @param {number} root
 * @returns {{ pid: number, name: string }[]}
 */
function descendants(root) {
  /** @type {Map<number, { pid: number, name: string }[]>} */
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      const name = stat.slice(stat.indexOf('(') + 1, close);
      children.set(ppid, [...(children.get(ppid) ?? []), { pid: Number(entry), name }]);
    } catch {
      // the process ended while we looked
    }
  }
  /** @type {{ pid: number, name: string }[]} */
  const found = [];
  for (let queue = [root]; queue.length;) {
    const next = children.get(/** @type {number} */ (queue.shift())) ?? [];
    found.push(...next);
    queue.push(...next.map((c) => c.pid));
  }
  return found;
}

/** SIGKILLs the processes this file started (none on systems without /proc); returns their names. */
function killDescendants() {
  let list = [];
  try {
    list = descendants(process.pid);
  } catch {
    return [];
  }
  for (const { pid } of list) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return list.map((p) => `${p.name} (pid ${p.pid})`);
}

/** "TCPWRAP x2, Timeout": what the event loop still waits on. */
function openResources() {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => (n > 1 ? `${r} x${n}` : r)).join(', ') || 'nothing visible';
}

function graceSeconds() {
  const raw = process.env.KEEL_TEST_EXIT_GRACE_S ?? '60';
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0)
    throw new Error(
      `${PREFIX}: KEEL_TEST_EXIT_GRACE_S must be a positive number of seconds, not ${JSON.stringify(raw)}`,
    );
  return s;
}

// Only in a test file's own main thread (node --test sets NODE_TEST_CONTEXT there): not in the runner that spawns
// it, nor in worker threads, which inherit both the environment and the `--import`.
if (process.env.NODE_TEST_CONTEXT && isMainThread) {
  const file = path.relative(process.cwd(), process.argv[1] ?? '?');
  const grace = graceSeconds();
  after(() => {
    setTimeout(() => {
      const open = openResources();
      const killed = killDescendants();
      const children = killed.length ? `; killed the processes it started: ${killed.join(', ')}` : '';
      process.stderr.write(
        `${PREFIX}: ${file} is still running ${grace} s after its last test finished; open: ${open}${children}\n`,
      );
      process.exit(1);
    }, grace * 1000).unref(); // unref: the watchdog itself never keeps the file alive
  });
  process.once('SIGTERM', () => {
    const killed = killDescendants();
    process.stderr.write(
      `${PREFIX}: ${file} was stopped by the runner (its time limit)${killed.length ? `; killed ${killed.join(', ')}` : ''}\n`,
    );
    process.exit(1);
  });
}
