/**
 * Imports under src/ run one way: no two files reach each other through imports, type imports and re-exports
 * included (a type cycle still means neither file can be read, changed or moved without the other). Each cycle is
 * reported with its files and the imports that close it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const SRC = path.join(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The src/ files `file` imports or re-exports from (relative specifiers; `./x.js` is `./x.ts`). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .filter((f) => f.fileName.startsWith('.'))
    .map((f) => path.resolve(path.dirname(file), f.fileName).replace(/\.js$/, '.ts'))
    .map((f) => (existsSync(f) ? f : path.join(f.replace(/\.ts$/, ''), 'index.ts')))
    .filter((f, i, all) => existsSync(f) && all.indexOf(f) === i);
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = stack.splice(stack.indexOf(v));
    if (component.length > 1) found.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('import cycles', { timeout: 60_000 }, () => {
  test('no file under src/ imports itself through others (type imports included)', () => {
    const graph = new Map(sourceFiles(SRC).map((f) => [f, importsOf(f)]));
    const rel = (f: string) => path.relative(SRC, f);
    const report = cycles(graph).map((c) =>
      c
        .map(
          (f) =>
            `${rel(f)} -> ${graph
              .get(f)!
              .filter((g) => c.includes(g))
              .map(rel)
              .join(', ')}`,
        )
        .join('; '),
    );
    assert.deepEqual(report, []);
  });
});
