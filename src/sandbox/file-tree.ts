/**
 * Renders a workspace listing as a compact `tree`-style outline for a model's context: one line per entry, sorted,
 * directories marked with a trailing `/`, and cut off after a budget so a huge workspace cannot flood the context.
 * Pure: takes entries already listed from the (remote) sandbox.
 */

/** One listed path, relative to the workspace root (e.g. `src/app.py`). */
export interface FileTreeEntry {
  path: string;
  type: 'file' | 'dir';
}

/** Options for `renderFileTree`. */
export interface FileTreeOptions {
  /** Most entry lines to render before a final `… N more` line (default 200). */
  maxEntries?: number;
}

interface Node {
  name: string;
  dir: boolean;
  children: Map<string, Node>;
}

function compareNames(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Renders entries as a sorted tree, like the `tree` command without its root line:
 * ```
 * ├── src/
 * │   └── app.py
 * └── README.md
 * ```
 * Parent directories missing from `entries` are implied by deeper paths; duplicates are merged; `./`, empty and
 * `.` segments and trailing slashes are ignored. Names sort case-insensitively (ties by code unit), files and
 * directories mixed. After `maxEntries` lines, one `… N more` line counts the rest.
 * @returns the tree without a trailing newline, or an empty string when there are no entries.
 */
export function renderFileTree(entries: FileTreeEntry[], options: FileTreeOptions = {}): string {
  const maxEntries = Math.max(0, Math.floor(options.maxEntries ?? 200));
  const root: Node = { name: '', dir: true, children: new Map() };
  let total = 0;
  for (const entry of entries) {
    const segments = entry.path.split('/').filter((s) => s !== '' && s !== '.');
    let node = root;
    segments.forEach((name, i) => {
      const isLast = i === segments.length - 1;
      let child = node.children.get(name);
      if (!child) {
        child = { name, dir: !isLast || entry.type === 'dir', children: new Map() };
        node.children.set(name, child);
        total++;
      } else if (!isLast || entry.type === 'dir') {
        child.dir = true;
      }
      node = child;
    });
  }

  const lines: string[] = [];
  const walk = (node: Node, prefix: string): void => {
    const children = [...node.children.values()].sort((a, b) => compareNames(a.name, b.name));
    children.forEach((child, i) => {
      if (lines.length >= maxEntries) return;
      const last = i === children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${child.name}${child.dir ? '/' : ''}`);
      walk(child, prefix + (last ? '    ' : '│   '));
    });
  };
  walk(root, '');
  if (total > lines.length) lines.push(`… ${total - lines.length} more`);
  return lines.join('\n');
}
