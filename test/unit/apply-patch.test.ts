// Unit tests for the V4A patch parser and applier (src/sandbox/apply-patch.ts), against an in-memory PatchFs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, parsePatch, PatchError, type PatchFs } from '../../src/sandbox/apply-patch.js';

/** An in-memory PatchFs that records every write and remove. */
function memFs(files: Record<string, string> = {}) {
  const store = new Map(Object.entries(files));
  const log: string[] = [];
  const fs: PatchFs = {
    async read(path) {
      return store.get(path);
    },
    async write(path, content) {
      log.push(`write ${path}`);
      store.set(path, content);
    },
    async remove(path) {
      log.push(`remove ${path}`);
      store.delete(path);
    },
  };
  return { fs, store, log, files: () => Object.fromEntries(store) };
}

function patch(...body: string[]): string {
  return ['*** Begin Patch', ...body, '*** End Patch'].join('\n');
}

async function rejectsAt(p: Promise<unknown>, line: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PatchError, `expected PatchError, got ${String(err)}`);
    assert.equal(err.name, 'PatchError');
    assert.equal(err.line, line);
    assert.match(err.message, message);
    return true;
  });
}

function throwsAt(fn: () => unknown, line: number, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PatchError, `expected PatchError, got ${String(err)}`);
    assert.equal(err.line, line);
    assert.match(err.message, new RegExp(`^patch line ${line}: `));
    assert.match(err.message, message);
    return true;
  });
}

describe('parsePatch', () => {
  test('parses add, update with move, anchors and End of File, and delete', () => {
    const ops = parsePatch(
      patch(
        '*** Add File: path/new.txt',
        '+line one',
        '+line two',
        '*** Update File: src/app.py',
        '*** Move to: src/main.py',
        '@@ class Greeter',
        '@@     def greet():',
        ' context',
        '-old',
        '+new',
        '@@',
        ' tail',
        '+end',
        '*** End of File',
        '*** Delete File: old.txt',
      ),
    );
    assert.deepEqual(ops, [
      { type: 'add', path: 'path/new.txt', content: 'line one\nline two\n', line: 2 },
      {
        type: 'update',
        path: 'src/app.py',
        moveTo: 'src/main.py',
        line: 5,
        hunks: [
          {
            anchors: ['class Greeter', '    def greet():'],
            lines: [
              { kind: 'context', text: 'context' },
              { kind: 'remove', text: 'old' },
              { kind: 'add', text: 'new' },
            ],
            endOfFile: false,
            line: 7,
          },
          {
            anchors: [],
            lines: [
              { kind: 'context', text: 'tail' },
              { kind: 'add', text: 'end' },
            ],
            endOfFile: true,
            line: 12,
          },
        ],
      },
      { type: 'delete', path: 'old.txt', line: 16 },
    ]);
  });

  test('tolerates CRLF, a BOM, blank lines and a heredoc wrapper', () => {
    const text =
      "\uFEFF\r\napply_patch <<'EOF'\r\n*** Begin Patch\r\n*** Delete File: a.txt\r\n*** End Patch\r\nEOF\r\n";
    assert.deepEqual(parsePatch(text), [{ type: 'delete', path: 'a.txt', line: 4 }]);
  });

  test('tolerates a markdown fence around the patch', () => {
    const text = '```diff\n*** Begin Patch\n*** Delete File: a.txt\n*** End Patch\n```\n';
    assert.equal(parsePatch(text).length, 1);
  });

  test('normalizes paths and treats a unified-diff range header as a bare @@', () => {
    const [op] = parsePatch(patch('*** Update File: ./src//a.py', '@@ -1,2 +1,2 @@', '-x', '+y'));
    assert.equal(op.type, 'update');
    assert.equal(op.path, 'src/a.py');
    assert.deepEqual(op.type === 'update' && op.hunks[0].anchors, []);
  });

  test('an empty line inside a hunk is an empty context line', () => {
    const [op] = parsePatch(patch('*** Update File: a', ' a', '', '-b'));
    assert.deepEqual(op.type === 'update' && op.hunks[0].lines[1], { kind: 'context', text: '' });
  });

  test('errors name the line and what was expected', () => {
    throwsAt(
      () => parsePatch('hello\n*** Begin Patch\n*** End Patch'),
      1,
      /expected '\*\*\* Begin Patch' but found "hello"/,
    );
    throwsAt(() => parsePatch(''), 1, /Begin Patch/);
    throwsAt(() => parsePatch('*** Begin Patch\n*** Delete File: a'), 2, /expected '\*\*\* End Patch' before the end/);
    throwsAt(
      () => parsePatch(patch('*** Frobnicate File: a')),
      2,
      /expected '\*\*\* Add File:'.*found "\*\*\* Frobnicate File: a"/,
    );
    throwsAt(() => parsePatch(patch('*** Add File: a', '+ok', 'oops')), 4, /expected a line starting with '\+'/);
    throwsAt(
      () => parsePatch(patch('*** Update File: a', ' ctx', '-x', '?bad')),
      5,
      /starting with ' ' \(context\), '-' \(remove\) or '\+' \(add\)/,
    );
    throwsAt(() => parsePatch(patch('*** Update File: a', '*** Delete File: b')), 2, /has no hunks/);
    throwsAt(() => parsePatch(patch('*** Update File: a', '@@ foo', '*** Delete File: b')), 3, /has no lines/);
    throwsAt(() => parsePatch(patch('*** Update File: a', ' just', ' context')), 3, /changes nothing/);
    throwsAt(
      () => parsePatch(patch('*** Update File: a', '-x', '*** End of File', ' y')),
      5,
      /expected '@@' to start a new hunk/,
    );
    throwsAt(() => parsePatch(patch('*** Delete File: a') + '\ntrailing junk'), 4, /expected nothing after/);
  });

  test('refuses absolute paths and .. segments', () => {
    throwsAt(() => parsePatch(patch('*** Add File: /etc/passwd', '+x')), 2, /absolute/);
    throwsAt(() => parsePatch(patch('*** Delete File: C:\\x')), 2, /absolute/);
    throwsAt(() => parsePatch(patch('*** Delete File: a/../../b')), 2, /'\.\.' segment/);
    throwsAt(() => parsePatch(patch('*** Update File: a', '*** Move to: ../b', '-x')), 3, /'\.\.' segment/);
    throwsAt(() => parsePatch(patch('*** Delete File:   ')), 2, /path/);
    // A name that merely contains dots is fine.
    assert.equal(parsePatch(patch('*** Delete File: a/..b/c..'))[0].path, 'a/..b/c..');
  });
});

describe('applyPatch', () => {
  test('adds, updates and deletes files', async () => {
    const m = memFs({ 'src/app.py': 'def greet():\n    print("hi")\n    return 1\n', 'old.txt': 'bye\n' });
    const result = await applyPatch(
      patch(
        '*** Add File: path/new.txt',
        '+line one',
        '+line two',
        '*** Update File: src/app.py',
        ' def greet():',
        '-    print("hi")',
        '+    print("hello")',
        '     return 1',
        '*** Delete File: old.txt',
      ),
      m.fs,
    );
    assert.deepEqual(result, { added: ['path/new.txt'], updated: ['src/app.py'], deleted: ['old.txt'], moved: [] });
    assert.deepEqual(m.files(), {
      'src/app.py': 'def greet():\n    print("hello")\n    return 1\n',
      'path/new.txt': 'line one\nline two\n',
    });
  });

  test('moves a file while updating it', async () => {
    const m = memFs({ 'src/app.py': 'a\nb\nc\n' });
    const result = await applyPatch(
      patch('*** Update File: src/app.py', '*** Move to: src/main.py', ' a', '-b', '+B'),
      m.fs,
    );
    assert.deepEqual(result.moved, [{ from: 'src/app.py', to: 'src/main.py' }]);
    assert.deepEqual(result.updated, []);
    assert.deepEqual(m.files(), { 'src/main.py': 'a\nB\nc\n' });
    assert.deepEqual(m.log, ['write src/main.py', 'remove src/app.py']);
  });

  test('applies multiple hunks in order', async () => {
    const m = memFs({ f: 'x\n1\n2\nx\n3\n4\nx\n' });
    await applyPatch(patch('*** Update File: f', '@@', ' x', '-1', '+one', '@@', ' x', '-3', '+three'), m.fs);
    assert.equal(m.store.get('f'), 'x\none\n2\nx\nthree\n4\nx\n');
  });

  test('a later hunk is searched only after the previous one', async () => {
    const m = memFs({ f: 'a\nb\na\nb\n' });
    await applyPatch(patch('*** Update File: f', ' a', '-b', '+B1', '@@', ' a', '-b', '+B2'), m.fs);
    assert.equal(m.store.get('f'), 'a\nB1\na\nB2\n');
  });

  test('@@ anchors pick the occurrence after the named line, and may be nested', async () => {
    const file = [
      'class A:',
      '    def run(self):',
      '        return 1',
      'class B:',
      '    def stop(self):',
      '        return 1',
      '    def run(self):',
      '        return 1',
      '',
    ].join('\n');
    const m = memFs({ 'm.py': file });
    await applyPatch(
      patch('*** Update File: m.py', '@@ class B:', '@@     def run(self):', '-        return 1', '+        return 2'),
      m.fs,
    );
    assert.equal(m.store.get('m.py'), file.replace(/return 1\n$/, 'return 2\n'));
  });

  test('an anchor-only insertion goes right after the anchor line', async () => {
    const m = memFs({ f: 'import os\n\ndef main():\n    pass\n' });
    await applyPatch(patch('*** Update File: f', '@@ import os', '+import sys'), m.fs);
    assert.equal(m.store.get('f'), 'import os\nimport sys\n\ndef main():\n    pass\n');
  });

  test('End of File anchors the hunk at the end', async () => {
    const m = memFs({ f: 'end\nmiddle\nend\n' });
    await applyPatch(patch('*** Update File: f', '-end', '+END', '*** End of File'), m.fs);
    assert.equal(m.store.get('f'), 'end\nmiddle\nEND\n');
  });

  test('a pure insertion with End of File appends', async () => {
    const m = memFs({ f: 'a\nb\n' });
    await applyPatch(patch('*** Update File: f', '+c', '*** End of File'), m.fs);
    assert.equal(m.store.get('f'), 'a\nb\nc\n');
  });

  test('matches ignoring trailing whitespace, keeping the file’s context lines', async () => {
    const m = memFs({ f: 'keep   \nold\t\n' });
    await applyPatch(patch('*** Update File: f', ' keep', '-old', '+new'), m.fs);
    assert.equal(m.store.get('f'), 'keep   \nnew\n');
  });

  test('matches ignoring indentation and inner whitespace when nothing stricter matches', async () => {
    const m = memFs({ f: 'def f():\n\tif  x:\n\t\treturn 1\n' });
    await applyPatch(patch('*** Update File: f', '     if x:', '-        return 1', '+\t\treturn 2'), m.fs);
    assert.equal(m.store.get('f'), 'def f():\n\tif  x:\n\t\treturn 2\n');
  });

  test('prefers an exact match over an earlier fuzzy one', async () => {
    const m = memFs({ f: '  a\nb\na\nb\n' });
    await applyPatch(patch('*** Update File: f', ' a', '-b', '+B'), m.fs);
    assert.equal(m.store.get('f'), '  a\nb\na\nB\n');
  });

  test('matches across typographic punctuation', async () => {
    const m = memFs({ f: 'say(\u201Chi\u201D) \u2014 ok\nx\n' });
    await applyPatch(patch('*** Update File: f', ' say("hi") - ok', '-x', '+y'), m.fs);
    assert.equal(m.store.get('f'), 'say(\u201Chi\u201D) \u2014 ok\ny\n');
  });

  test('ignores trailing blank context lines that stand for the final newline', async () => {
    const m = memFs({ f: 'a\nb\n', g: '' });
    await applyPatch(patch('*** Update File: f', ' a', '-b', '+c', '', '', '*** Delete File: g'), m.fs);
    assert.deepEqual(m.files(), { f: 'a\nc\n' });
  });

  test('preserves a missing trailing newline and CRLF line endings', async () => {
    const m = memFs({ lf: 'a\nb', crlf: 'a\r\nb\r\n' });
    await applyPatch(
      patch('*** Update File: lf', ' a', '-b', '+c', '*** Update File: crlf', ' a', '-b', '+c', '+d'),
      m.fs,
    );
    assert.equal(m.store.get('lf'), 'a\nc');
    assert.equal(m.store.get('crlf'), 'a\r\nc\r\nd\r\n');
  });

  test('accepts a CRLF patch', async () => {
    const m = memFs({ f: 'a\nb\n' });
    const text =
      patch('*** Update File: f', ' a', '-b', '+c', '*** Add File: g', '+new').replace(/\n/g, '\r\n') + '\r\n';
    await applyPatch(text, m.fs);
    assert.deepEqual(m.files(), { f: 'a\nc\n', g: 'new\n' });
  });

  test('operations apply in sequence', async () => {
    const m = memFs({ f: 'old\n' });
    const result = await applyPatch(
      patch('*** Delete File: f', '*** Add File: f', '+new', '*** Update File: f', '-new', '+newer'),
      m.fs,
    );
    assert.deepEqual(m.files(), { f: 'newer\n' });
    assert.deepEqual(result, { added: ['f'], updated: ['f'], deleted: ['f'], moved: [] });
  });

  test('refuses to update or delete a missing file, add an existing one, or move onto one', async () => {
    const m = memFs({ a: 'x\n', b: 'y\n' });
    await rejectsAt(applyPatch(patch('*** Update File: nope', '-x'), m.fs), 2, /cannot update nope: it does not exist/);
    await rejectsAt(applyPatch(patch('*** Delete File: nope'), m.fs), 2, /cannot delete nope: it does not exist/);
    await rejectsAt(applyPatch(patch('*** Add File: a', '+z'), m.fs), 2, /cannot add a: it already exists/);
    await rejectsAt(
      applyPatch(patch('*** Update File: a', '*** Move to: b', '-x', '+z'), m.fs),
      2,
      /cannot move a to b: it already exists/,
    );
    assert.deepEqual(m.log, []);
  });

  test('a hunk that does not match reports its line and the expected lines, truncated', async () => {
    const m = memFs({ f: 'a\nb\n' });
    const body = Array.from({ length: 14 }, (_, i) => ` ctx${i}`);
    await rejectsAt(
      applyPatch(patch('*** Update File: f', '@@ a', ...body, '-zzz'), m.fs),
      3,
      /hunk does not match f after '@@ a' \(line 1\)\. Expected these lines, in order:\n {2}ctx0\n[\s\S]*ctx9\n {2}… \(5 more lines\)$/,
    );
    await rejectsAt(
      applyPatch(patch('*** Update File: f', '@@ missing', '-a'), m.fs),
      3,
      /could not find the '@@ missing' context line in f/,
    );
    await rejectsAt(
      applyPatch(patch('*** Update File: f', '-b', '@@', '-a'), m.fs),
      4,
      /hunk does not match f after line 2/,
    );
    assert.deepEqual(m.log, []);
  });

  test('a failing later operation leaves every file untouched', async () => {
    const m = memFs({ a: 'one\n', b: 'two\n' });
    await rejectsAt(
      applyPatch(
        patch('*** Update File: a', '-one', '+ONE', '*** Add File: c', '+c', '*** Update File: b', '-nope', '+x'),
        m.fs,
      ),
      8,
      /hunk does not match b/,
    );
    assert.deepEqual(m.log, []);
    assert.deepEqual(m.files(), { a: 'one\n', b: 'two\n' });
  });

  test('refuses unsafe paths before reading anything', async () => {
    let reads = 0;
    const fs: PatchFs = {
      read: async () => {
        reads++;
        return undefined;
      },
      write: async () => assert.fail('no write'),
      remove: async () => assert.fail('no remove'),
    };
    await rejectsAt(
      applyPatch(patch('*** Add File: ok', '+x', '*** Add File: ../escape', '+x'), fs),
      4,
      /'\.\.' segment/,
    );
    assert.equal(reads, 0);
  });

  test('adding lines to an empty file ends it with a newline; deleting every line empties it', async () => {
    const m = memFs({ empty: '', full: 'a\nb\n' });
    await applyPatch(patch('*** Update File: empty', '+x', '*** Update File: full', '-a', '-b'), m.fs);
    assert.deepEqual(m.files(), { empty: 'x\n', full: '' });
  });
});

describe('applyPatch: variations models write', () => {
  test('markers and file headers padded with whitespace are accepted, as the reference parser accepts them', async () => {
    const m = memFs({ a: 'one\ntwo\n', old: 'x\n' });
    const text = [
      '  *** Begin Patch ',
      ' *** Update File: a  ',
      '@@',
      ' one',
      '-two',
      '+TWO',
      '\t*** End of File',
      '   *** Delete File: old',
      '  *** Add File: new.txt',
      '+hello',
      ' *** End Patch  ',
    ].join('\n');
    const result = await applyPatch(text, m.fs);
    assert.deepEqual(result, { added: ['new.txt'], updated: ['a'], deleted: ['old'], moved: [] });
    assert.deepEqual(m.files(), { a: 'one\nTWO\n', 'new.txt': 'hello\n' });
  });

  test('a padded Move to header moves the file', async () => {
    const m = memFs({ a: 'one\n' });
    await applyPatch(patch('*** Update File: a', '  *** Move to: b ', '-one', '+uno'), m.fs);
    assert.deepEqual(m.files(), { b: 'uno\n' });
  });

  test('a patch whose + lines equal its - lines is one clear error and writes nothing', async () => {
    const m = memFs({ a: 'one\ntwo\n' });
    await rejectsAt(applyPatch(patch('*** Update File: a', '-two', '+two'), m.fs), 2, /the patch changes nothing/);
    assert.deepEqual(m.log, []);
  });

  test('a patch with no file operations says so', () => {
    throwsAt(() => parsePatch(patch()), 2, /no file operations/);
  });
});
