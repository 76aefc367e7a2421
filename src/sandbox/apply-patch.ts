/**
 * The V4A patch format ("*** Begin Patch" … "*** End Patch") that OpenAI models are trained to emit for the
 * `apply_patch` tool (OpenAI Agents SDK, Codex). Models edit files far more reliably in the format they were
 * trained on than in unified diffs, so Keel parses and applies it itself.
 *
 * This module is pure: it never touches the local filesystem. `applyPatch` reads and writes through a small
 * `PatchFs` interface, which activities back with a remote sandbox. The whole patch is validated (every file
 * read, every hunk located) before the first write, so a patch that fails changes nothing.
 */

/** A line in an update hunk: unchanged context, a line to remove, or a line to add. */
export interface HunkLine {
  kind: 'context' | 'remove' | 'add';
  /** The line's text, without its one-character prefix and without a line terminator. */
  text: string;
}

/** One `@@` section of an `*** Update File:` operation. */
export interface Hunk {
  /**
   * Texts of the `@@ …` header lines, outermost first (e.g. a class, then a method in it). Each is searched for
   * in turn, and the hunk is located after the last one. Empty for a bare `@@` or no header at all.
   */
  anchors: string[];
  lines: HunkLine[];
  /** True when the hunk ended with `*** End of File`: it should match at the end of the file. */
  endOfFile: boolean;
  /** 1-based line number in the patch text where the hunk starts (for error messages). */
  line: number;
}

/** One file operation of a patch. `line` is the 1-based patch line of the operation's `***` header. */
export type PatchOperation =
  | { type: 'add'; path: string; content: string; line: number }
  | { type: 'delete'; path: string; line: number }
  | { type: 'update'; path: string; moveTo?: string; hunks: Hunk[]; line: number };

/** The file access `applyPatch` needs; paths are the patch's own (relative, normalized) paths. */
export interface PatchFs {
  /** The file's content, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  write(path: string, content: string): Promise<void>;
  remove(path: string): Promise<void>;
}

/** What a patch changed. A moved file is listed only under `moved`, whether or not its content changed too. */
export interface PatchResult {
  added: string[];
  updated: string[];
  deleted: string[];
  moved: { from: string; to: string }[];
}

/** A patch that cannot be parsed or applied. `line` is the 1-based line of the patch text at fault. */
export class PatchError extends Error {
  readonly line: number;
  constructor(line: number, message: string, options?: ErrorOptions) {
    super(`patch line ${line}: ${message}`, options);
    this.name = new.target.name;
    this.line = line;
  }
}

const BEGIN = '*** Begin Patch';
const END = '*** End Patch';
const ADD = '*** Add File:';
const DELETE = '*** Delete File:';
const UPDATE = '*** Update File:';
const MOVE = '*** Move to:';
const EOF_MARK = '*** End of File';

const HEREDOC_OPEN = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1\s*$/;
const FENCE = /^```[\w-]*$/;
/** A unified-diff range header (`@@ -1,3 +1,4 @@`) some models write instead of a V4A anchor. */
const UNIFIED_RANGE = /^-\d+(,\d+)?\s+\+\d+(,\d+)?\s*@@/;

/**
 * Parses a V4A patch. Tolerates CRLF line endings, a BOM, and blank, heredoc (`apply_patch <<'EOF'` … `EOF`)
 * or markdown-fence lines around the `*** Begin Patch` / `*** End Patch` envelope.
 * Paths are checked (relative, no `..` segments) and normalized (`./a//b` → `a/b`).
 * @throws PatchError naming the offending line and what was expected there.
 */
export function parsePatch(text: string): PatchOperation[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  // Patch line i (0-based) is reported as i + 1.
  let i = 0;
  let heredocTag: string | undefined;
  for (; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === BEGIN) break;
    const heredoc = HEREDOC_OPEN.exec(t);
    if (t === '' || FENCE.test(t)) continue;
    if (heredoc && heredocTag === undefined) {
      heredocTag = heredoc[2];
      continue;
    }
    throw new PatchError(i + 1, `expected '${BEGIN}' but found ${quote(lines[i])}`);
  }
  if (i >= lines.length) throw new PatchError(Math.max(1, lines.length), `expected '${BEGIN}' but the patch has none`);
  i++;

  const ops: PatchOperation[] = [];
  let ended = false;
  while (i < lines.length) {
    const raw = lines[i];
    // Markers and file headers may be padded with whitespace, as models write them (the reference parser trims too).
    const t = raw.trim();
    const lineNo = i + 1;
    if (t === END) {
      ended = true;
      i++;
      break;
    }
    if (t.startsWith(ADD)) {
      const path = checkPath(t.slice(ADD.length), lineNo);
      i++;
      const body: string[] = [];
      while (i < lines.length && !isHeader(lines[i])) {
        const l = lines[i];
        if (l.startsWith('+')) body.push(l.slice(1));
        else if (l.trim() === '' && restIsBlankUntilHeader(lines, i)) {
          /* separator blank lines before the next header */
        } else
          throw new PatchError(
            i + 1,
            `expected a line starting with '+' (content of the added file ${path}) or a '***' header, but found ${quote(l)}`,
          );
        i++;
      }
      ops.push({ type: 'add', path, content: body.length ? body.join('\n') + '\n' : '', line: lineNo });
      continue;
    }
    if (t.startsWith(DELETE)) {
      ops.push({ type: 'delete', path: checkPath(t.slice(DELETE.length), lineNo), line: lineNo });
      i++;
      continue;
    }
    if (t.startsWith(UPDATE)) {
      const path = checkPath(t.slice(UPDATE.length), lineNo);
      i++;
      let moveTo: string | undefined;
      if (i < lines.length && lines[i].trim().startsWith(MOVE)) {
        moveTo = checkPath(lines[i].trim().slice(MOVE.length), i + 1);
        i++;
      }
      const parsed = parseHunks(lines, i, path);
      i = parsed.next;
      ops.push({
        type: 'update',
        path,
        ...(moveTo !== undefined && moveTo !== path ? { moveTo } : {}),
        hunks: parsed.hunks,
        line: lineNo,
      });
      continue;
    }
    if (t.trim() === '') {
      i++;
      continue;
    }
    throw new PatchError(lineNo, `expected '${ADD}', '${DELETE}', '${UPDATE}' or '${END}' but found ${quote(raw)}`);
  }
  if (!ended) throw new PatchError(lines.length, `expected '${END}' before the end of the patch`);
  if (ops.length === 0)
    throw new PatchError(
      i,
      `the patch has no file operations: expected '${ADD}', '${DELETE}' or '${UPDATE}' between the markers`,
    );
  for (; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === '' || FENCE.test(t) || (heredocTag !== undefined && t.replace(/^['"]|['"]$/g, '') === heredocTag))
      continue;
    throw new PatchError(i + 1, `expected nothing after '${END}' but found ${quote(lines[i])}`);
  }
  return ops;
}

/** Parses the hunks of an Update File operation starting at `start`; stops at the next `***` header. */
function parseHunks(lines: string[], start: number, path: string): { hunks: Hunk[]; next: number } {
  const hunks: Hunk[] = [];
  let current: Hunk | undefined;
  let i = start;
  const close = () => {
    if (current) {
      if (current.lines.length === 0) {
        throw new PatchError(
          current.line,
          `the hunk for ${path} has no lines: expected ' ', '-' or '+' lines after its '@@' header`,
        );
      }
      if (!current.lines.some((l) => l.kind !== 'context')) {
        throw new PatchError(
          current.line,
          `the hunk for ${path} changes nothing: expected at least one '-' or '+' line`,
        );
      }
      hunks.push(current);
      current = undefined;
    }
  };
  for (; i < lines.length; i++) {
    const l = lines[i];
    const t = l.trimEnd();
    if (t.trim() === EOF_MARK) {
      if (!current) throw new PatchError(i + 1, `'${EOF_MARK}' must end a hunk, but there is no hunk before it`);
      current.endOfFile = true;
      close();
      continue;
    }
    if (isHeader(l)) break;
    if (t === '@@' || t.startsWith('@@ ') || t.startsWith('@@\t')) {
      let anchor = t.slice(2).trim() === '' ? undefined : l.slice(3);
      if (anchor !== undefined && UNIFIED_RANGE.test(anchor.trim())) anchor = undefined;
      if (!current || current.lines.length > 0) {
        close();
        current = { anchors: [], lines: [], endOfFile: false, line: i + 1 };
      }
      if (anchor !== undefined) current.anchors.push(anchor);
      continue;
    }
    if (!current) {
      if (hunks.length > 0 && l.trim() === '') continue;
      if (hunks.length > 0) {
        throw new PatchError(
          i + 1,
          `expected '@@' to start a new hunk (or a '***' header) after '${EOF_MARK}', but found ${quote(l)}`,
        );
      }
      current = { anchors: [], lines: [], endOfFile: false, line: i + 1 };
    }
    const c = l[0];
    if (l === '') current.lines.push({ kind: 'context', text: '' });
    else if (c === ' ') current.lines.push({ kind: 'context', text: l.slice(1) });
    else if (c === '-') current.lines.push({ kind: 'remove', text: l.slice(1) });
    else if (c === '+') current.lines.push({ kind: 'add', text: l.slice(1) });
    else {
      throw new PatchError(
        i + 1,
        `expected a hunk line of ${path} starting with ' ' (context), '-' (remove) or '+' (add), or '@@', or a '***' header, but found ${quote(l)}`,
      );
    }
  }
  close();
  if (hunks.length === 0) {
    throw new PatchError(
      start,
      `'${UPDATE} ${path}' has no hunks: expected at least one '@@' section or ' ', '-', '+' lines`,
    );
  }
  return { hunks, next: i };
}

function isHeader(line: string): boolean {
  const t = line.trim();
  return t === END || t.startsWith(ADD) || t.startsWith(DELETE) || t.startsWith(UPDATE) || t.startsWith(MOVE);
}

function restIsBlankUntilHeader(lines: string[], from: number): boolean {
  for (let j = from; j < lines.length; j++) {
    if (isHeader(lines[j])) return true;
    if (lines[j].trim() !== '') return false;
  }
  return true;
}

/** Checks a patch path (relative, no `..`, no NUL) and normalizes it. */
function checkPath(rawPath: string, line: number): string {
  const p = rawPath.trim();
  if (p === '') throw new PatchError(line, 'expected a file path after the header, but it is empty');
  if (p.includes('\0')) throw new PatchError(line, `path ${quote(p)} contains a NUL character`);
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p)) {
    throw new PatchError(line, `path ${quote(p)} is absolute: expected a path relative to the workspace`);
  }
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s.split('\\').includes('..'))) {
    throw new PatchError(line, `path ${quote(p)} contains a '..' segment: expected a path inside the workspace`);
  }
  if (segments.length === 0) throw new PatchError(line, `path ${quote(p)} does not name a file`);
  return segments.join('/');
}

function quote(s: string, max = 120): string {
  return JSON.stringify(s.length > max ? s.slice(0, max) + '…' : s);
}

// ---------------------------------------------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------------------------------------------

/** A file split into lines, remembering how to join it back. */
interface SplitFile {
  lines: string[];
  eol: '\n' | '\r\n';
  trailingNewline: boolean;
}

function splitFile(content: string): SplitFile {
  const first = content.indexOf('\n');
  const eol = first > 0 && content[first - 1] === '\r' ? '\r\n' : '\n';
  // An empty file gains a trailing newline if lines are added to it.
  if (content === '') return { lines: [], eol, trailingNewline: true };
  const trailingNewline = content.endsWith(eol);
  const body = trailingNewline ? content.slice(0, -eol.length) : content;
  return { lines: body.split(eol), eol, trailingNewline };
}

function joinFile(f: SplitFile): string {
  if (f.lines.length === 0) return '';
  return f.lines.join(f.eol) + (f.trailingNewline ? f.eol : '');
}

const PUNCT: [RegExp, string][] = [
  [/[\u2010-\u2015\u2212]/g, '-'],
  [/[\u2018\u2019\u201A\u201B]/g, "'"],
  [/[\u201C\u201D\u201E\u201F]/g, '"'],
  [/[\u00A0\u2002-\u200A\u202F\u205F\u3000]/g, ' '],
  [/\u2026/g, '...'],
];

/**
 * Match levels, strictest first: exact, trailing-whitespace-insensitive, whitespace-insensitive, and finally
 * also insensitive to typographic punctuation (smart quotes, dashes, non-breaking spaces) that models emit.
 */
const LEVELS: ((s: string) => string)[] = [
  (s) => s,
  (s) => s.trimEnd(),
  (s) => s.trim().replace(/\s+/g, ' '),
  (s) =>
    PUNCT.reduce((acc, [re, to]) => acc.replace(re, to), s)
      .trim()
      .replace(/\s+/g, ' '),
];

/** Finds `pattern` as consecutive lines of `file`; returns its start index or undefined. */
function seek(file: string[], pattern: string[], start: number, endOfFile: boolean): number | undefined {
  if (pattern.length > file.length) return undefined;
  const last = file.length - pattern.length;
  const matchesAt = (at: number, norm: (s: string) => string): boolean => {
    for (let k = 0; k < pattern.length; k++) if (norm(file[at + k]) !== norm(pattern[k])) return false;
    return true;
  };
  if (endOfFile && last >= start) {
    for (const norm of LEVELS) if (matchesAt(last, norm)) return last;
  }
  for (const norm of LEVELS) {
    for (let at = start; at <= last; at++) if (matchesAt(at, norm)) return at;
  }
  return undefined;
}

interface Replacement {
  start: number;
  removeCount: number;
  lines: string[];
}

/** Locates every hunk of an update in `file` and returns the new lines; throws PatchError if any does not match. */
function applyHunks(path: string, file: string[], hunks: Hunk[]): string[] {
  const replacements: Replacement[] = [];
  let cursor = 0;
  for (const hunk of hunks) {
    let anchorNote = '';
    for (const anchor of hunk.anchors) {
      const at = seek(file, [anchor], cursor, false);
      if (at === undefined) {
        throw new PatchError(
          hunk.line,
          `could not find the '@@ ${anchor}' context line in ${path}${cursor > 0 ? ` after line ${cursor}` : ''}`,
        );
      }
      cursor = at + 1;
      anchorNote = ` after '@@ ${anchor}' (line ${at + 1})`;
    }

    let hunkLines = hunk.lines;
    let old = hunkLines.filter((l) => l.kind !== 'add').map((l) => l.text);
    if (old.length === 0) {
      // Pure insertion: right after the anchor, else at the end of the file.
      const at = hunk.anchors.length > 0 && !hunk.endOfFile ? cursor : file.length;
      replacements.push({ start: at, removeCount: 0, lines: hunkLines.map((l) => l.text) });
      cursor = at;
      continue;
    }
    let at = seek(file, old, cursor, hunk.endOfFile);
    if (at === undefined) {
      // Models often end a hunk with blank context lines standing for the file's final newline; retry without them.
      let n = hunkLines.length;
      while (n > 0 && hunkLines[n - 1].kind === 'context' && hunkLines[n - 1].text.trim() === '') n--;
      if (n < hunkLines.length) {
        const trimmed = hunkLines.slice(0, n);
        const trimmedOld = trimmed.filter((l) => l.kind !== 'add').map((l) => l.text);
        const retry = trimmedOld.length > 0 ? seek(file, trimmedOld, cursor, hunk.endOfFile) : undefined;
        if (retry !== undefined) {
          at = retry;
          hunkLines = trimmed;
          old = trimmedOld;
        }
      }
    }
    if (at === undefined) {
      throw new PatchError(
        hunk.line,
        `hunk does not match ${path}${anchorNote}${cursor > 0 && !anchorNote ? ` after line ${cursor}` : ''}` +
          `${hunk.endOfFile ? ' (at end of file)' : ''}. Expected these lines, in order:\n${excerpt(old)}`,
      );
    }
    // Context lines keep the file's own text, so a fuzzy match never rewrites their whitespace.
    const out: string[] = [];
    let k = at;
    for (const l of hunkLines) {
      if (l.kind === 'context') out.push(file[k++]);
      else if (l.kind === 'remove') k++;
      else out.push(l.text);
    }
    replacements.push({ start: at, removeCount: old.length, lines: out });
    cursor = at + old.length;
  }
  const result: string[] = [];
  let pos = 0;
  for (const r of replacements) {
    result.push(...file.slice(pos, r.start), ...r.lines);
    pos = r.start + r.removeCount;
  }
  result.push(...file.slice(pos));
  return result;
}

function excerpt(lines: string[], maxLines = 10, maxChars = 160): string {
  const shown = lines.slice(0, maxLines).map((l) => '  ' + (l.length > maxChars ? l.slice(0, maxChars) + '…' : l));
  if (lines.length > maxLines) shown.push(`  … (${lines.length - maxLines} more lines)`);
  return shown.join('\n');
}

/**
 * Parses and applies a V4A patch through `fs`. Operations apply in order (a later operation sees an earlier one's
 * result). Every file is read and every hunk located before anything is written, so a patch that fails on any
 * operation changes nothing; only a failure of `fs.write`/`fs.remove` itself can leave a partial result.
 * Files keep their line endings (LF or CRLF) and their trailing-newline state.
 * @throws PatchError for a malformed patch, an update/delete of a missing file, an add of an existing file,
 *   a move onto an existing file, or a hunk that does not match.
 */
export async function applyPatch(text: string, fs: PatchFs): Promise<PatchResult> {
  const ops = parsePatch(text);

  // Planned state of every touched path: content, or null once deleted. `original` holds what fs.read returned.
  const state = new Map<string, string | null>();
  const original = new Map<string, string | null>();
  const current = async (path: string): Promise<string | undefined> => {
    if (!state.has(path)) {
      const content = (await fs.read(path)) ?? null;
      state.set(path, content);
      original.set(path, content);
    }
    return state.get(path) ?? undefined;
  };

  const result: PatchResult = { added: [], updated: [], deleted: [], moved: [] };
  const pushOnce = (list: string[], path: string) => {
    if (!list.includes(path)) list.push(path);
  };
  for (const op of ops) {
    const content = await current(op.path);
    switch (op.type) {
      case 'add':
        if (content !== undefined)
          throw new PatchError(op.line, `cannot add ${op.path}: it already exists (use '${UPDATE}')`);
        state.set(op.path, op.content);
        pushOnce(result.added, op.path);
        break;
      case 'delete':
        if (content === undefined) throw new PatchError(op.line, `cannot delete ${op.path}: it does not exist`);
        state.set(op.path, null);
        pushOnce(result.deleted, op.path);
        break;
      case 'update': {
        if (content === undefined) throw new PatchError(op.line, `cannot update ${op.path}: it does not exist`);
        const split = splitFile(content);
        const updated = joinFile({ ...split, lines: applyHunks(op.path, split.lines, op.hunks) });
        if (op.moveTo !== undefined) {
          if ((await current(op.moveTo)) !== undefined) {
            throw new PatchError(op.line, `cannot move ${op.path} to ${op.moveTo}: it already exists`);
          }
          state.set(op.moveTo, updated);
          state.set(op.path, null);
          result.moved.push({ from: op.path, to: op.moveTo });
        } else {
          state.set(op.path, updated);
          pushOnce(result.updated, op.path);
        }
        break;
      }
    }
  }

  const changed = [...state].some(([path, content]) => content !== original.get(path));
  if (!changed) {
    throw new PatchError(
      ops[0].line,
      'the patch changes nothing: every file would keep its content. Check that the + lines differ from the - lines',
    );
  }
  // Everything validated: now write, then remove (so a move never loses the file if the write fails).
  for (const [path, content] of state) {
    if (content !== null && content !== original.get(path)) await fs.write(path, content);
  }
  for (const [path, content] of state) {
    if (content === null && original.get(path) !== null) await fs.remove(path);
  }
  return result;
}
