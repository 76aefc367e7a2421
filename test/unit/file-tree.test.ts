// Unit tests for the tree-style workspace listing (src/sandbox/file-tree.ts).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { renderFileTree, type FileTreeEntry } from '../../src/sandbox/file-tree.js';

const f = (path: string): FileTreeEntry => ({ path, type: 'file' });
const d = (path: string): FileTreeEntry => ({ path, type: 'dir' });

describe('renderFileTree', () => {
  test('renders a sorted tree with directories marked', () => {
    const out = renderFileTree([
      f('src/z.ts'),
      f('README.md'),
      d('src'),
      f('src/lib/a.ts'),
      d('src/lib'),
      f('package.json'),
      d('empty'),
    ]);
    assert.equal(
      out,
      [
        '├── empty/',
        '├── package.json',
        '├── README.md',
        '└── src/',
        '    ├── lib/',
        '    │   └── a.ts',
        '    └── z.ts',
      ].join('\n'),
    );
  });

  test('implies missing parent directories and merges duplicates and messy paths', () => {
    const out = renderFileTree([f('./a/b/c.txt'), f('a//b/c.txt'), d('a/b/'), f('x')]);
    assert.equal(out, ['├── a/', '│   └── b/', '│       └── c.txt', '└── x'].join('\n'));
  });

  test('sorts case-insensitively, ties by code unit', () => {
    assert.equal(renderFileTree([f('b'), f('B'), f('a'), f('C')]), ['├── a', '├── B', '├── b', '└── C'].join('\n'));
  });

  test('truncates after maxEntries with a count of the rest', () => {
    const entries = Array.from({ length: 5 }, (_, i) => f(`dir/file${i}.txt`));
    const out = renderFileTree(entries, { maxEntries: 3 });
    assert.equal(out, ['└── dir/', '    ├── file0.txt', '    ├── file1.txt', '… 3 more'].join('\n'));
  });

  test('defaults to 200 entries', () => {
    const entries = Array.from({ length: 250 }, (_, i) => f(`f${String(i).padStart(3, '0')}`));
    const lines = renderFileTree(entries).split('\n');
    assert.equal(lines.length, 201);
    assert.equal(lines[199], '├── f199');
    assert.equal(lines[200], '… 50 more');
  });

  test('no truncation line when everything fits exactly', () => {
    assert.equal(renderFileTree([f('a'), f('b')], { maxEntries: 2 }), '├── a\n└── b');
  });

  test('maxEntries 0 renders only the count', () => {
    assert.equal(renderFileTree([f('a'), f('b')], { maxEntries: 0 }), '… 2 more');
  });

  test('empty input renders an empty string', () => {
    assert.equal(renderFileTree([]), '');
    assert.equal(renderFileTree([f('.'), d('./')]), '');
  });
});
