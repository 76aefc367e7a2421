/**
 * The files a V4A patch names, read from its file headers alone (no parse): what activity summaries, `keel watch`
 * and the audit show of a patch. Pure, so workflow code uses it too; sandbox/apply-patch.ts parses patches to apply.
 */

export interface PatchedFile {
  op: 'Add' | 'Update' | 'Delete';
  /** As written after the header (not trimmed). */
  path: string;
}

export function patchedFiles(patch: string): PatchedFile[] {
  return [...patch.matchAll(/^\*\*\* (Add|Update|Delete) File: (.+)$/gm)].map((m) => ({
    op: m[1] as PatchedFile['op'],
    path: m[2],
  }));
}

/** `U a.py, A b.py`: each named file with the first letter of its operation. */
export function patchBrief(patch: string): string {
  return patchedFiles(patch)
    .map((f) => `${f.op[0]} ${f.path}`)
    .join(', ');
}
