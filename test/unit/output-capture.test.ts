// Unit tests for bounded head/tail output capture (src/sandbox/output-capture.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PY_CAPTURE } from '../../src/sandbox/in-container.js';
import { OutputCapture, renderOutputs, truncationMarker } from '../../src/sandbox/output-capture.js';

function capture(cap: number, ...chunks: (string | Buffer)[]): OutputCapture {
  const c = new OutputCapture(cap);
  for (const chunk of chunks) c.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return c;
}

describe('OutputCapture', () => {
  test('keeps output that fits', () => {
    assert.deepEqual(capture(10, 'hello', ' you').render(), { text: 'hello you', truncated: false });
    assert.deepEqual(capture(10, '0123456789').render(), { text: '0123456789', truncated: false });
    assert.deepEqual(capture(10).render(), { text: '', truncated: false });
  });

  test('cuts the middle with a marker counting the dropped bytes', () => {
    const r = capture(10, '0123456789abcdefghij').render();
    assert.deepEqual(r, { text: `01234${truncationMarker(10)}fghij`, truncated: true });
    assert.equal(truncationMarker(12345), '\n…[truncated 12345 bytes]…\n');
  });

  test('gives the same result however the stream is chunked', () => {
    const text = Array.from({ length: 500 }, (_, i) => `line ${i}\n`).join('');
    const whole = capture(101, text).render();
    for (const size of [1, 3, 7, 64, 1000]) {
      const c = new OutputCapture(101);
      for (let i = 0; i < text.length; i += size) c.write(Buffer.from(text.slice(i, i + size)));
      assert.deepEqual(c.render(), whole, `chunk size ${size}`);
    }
    assert.ok(whole.text.startsWith('line 0\nline 1\n'));
    assert.ok(whole.text.endsWith('line 498\nline 499\n'));
  });

  test('renders a smaller budget from what it kept, even when nothing was dropped', () => {
    const c = capture(100, 'a'.repeat(30), 'b'.repeat(30));
    assert.equal(c.render(100).text, 'a'.repeat(30) + 'b'.repeat(30));
    assert.equal(c.render(20).text, `${'a'.repeat(10)}${truncationMarker(40)}${'b'.repeat(10)}`);
    const big = capture(100, 'a'.repeat(500), 'b'.repeat(500));
    assert.equal(big.render(20).text, `${'a'.repeat(10)}${truncationMarker(980)}${'b'.repeat(10)}`);
  });

  test('never splits a UTF-8 character', () => {
    const text = 'é'.repeat(50) + '€'.repeat(50);
    for (let cap = 1; cap < 40; cap++) {
      const r = capture(cap, text).render();
      assert.ok(!r.text.includes('\uFFFD'), `cap ${cap}: ${r.text}`);
      const [head, tail] = r.text.split(/\n…\[truncated \d+ bytes\]…\n/);
      assert.ok(Buffer.byteLength(head) + Buffer.byteLength(tail) <= cap);
      const dropped = Number(/truncated (\d+) bytes/.exec(r.text)![1]);
      assert.equal(dropped + Buffer.byteLength(head) + Buffer.byteLength(tail), Buffer.byteLength(text));
    }
  });

  test('holds about its cap in memory however much is written', () => {
    const c = new OutputCapture(1000);
    const chunk = Buffer.alloc(65536, 'x');
    for (let i = 0; i < 1600; i++) c.write(chunk); // 100 MiB
    const internals = c as unknown as { head: Buffer[]; tail: Buffer[] };
    const held = [...internals.head, ...internals.tail].reduce((n, b) => n + b.length, 0);
    assert.ok(held <= 1000, `holds ${held} bytes`);
    assert.equal(c.total, 1600 * 65536);
    const r = c.render();
    assert.equal(r.text, `${'x'.repeat(500)}${truncationMarker(1600 * 65536 - 1000)}${'x'.repeat(500)}`);
  });
});

describe('renderOutputs', () => {
  test('keeps both streams when they fit together', () => {
    assert.deepEqual(renderOutputs(capture(100, 'out'), capture(100, 'err'), 10), { stdout: 'out', stderr: 'err', truncated: false });
  });

  test('gives a small stream all it needs and the rest to the large one', () => {
    const r = renderOutputs(capture(100, 'o'.repeat(100)), capture(100, 'boom'), 20);
    assert.equal(r.stderr, 'boom');
    assert.equal(r.stdout, `${'o'.repeat(8)}${truncationMarker(84)}${'o'.repeat(8)}`);
    assert.equal(r.truncated, true);
  });

  test('splits evenly when both are large', () => {
    const r = renderOutputs(capture(100, 'o'.repeat(100)), capture(100, 'e'.repeat(100)), 20);
    assert.equal(r.stdout, `${'o'.repeat(5)}${truncationMarker(90)}${'o'.repeat(5)}`);
    assert.equal(r.stderr, `${'e'.repeat(5)}${truncationMarker(90)}${'e'.repeat(5)}`);
  });
});

// The idempotency journal is rendered by a Python twin inside the sandbox; a replayed result must equal the first.
describe('the Python twin (in-container.ts PY_CAPTURE)', () => {
  test('renders exactly like renderOutputs', () => {
    assert.equal(spawnSync('python3', ['--version']).status, 0, 'python3 is needed on the host for this check');
    const texts = ['', 'short', 'x'.repeat(300), 'é€𝄞abc'.repeat(40), Array.from({ length: 80 }, (_, i) => `${i}\n`).join('')];
    const cases: { out: string[]; err: string[]; cap: number }[] = [];
    for (const cap of [1, 2, 5, 16, 33, 100, 1000]) {
      for (const [i, out] of texts.entries()) {
        const err = texts[(i * 3 + cap) % texts.length];
        const chunk = (t: string, n: number) => {
          const b = Buffer.from(t);
          const parts: string[] = [];
          for (let k = 0; k < b.length; k += n) parts.push(b.subarray(k, k + n).toString('base64'));
          return parts;
        };
        cases.push({ out: chunk(out, 1 + (cap % 7)), err: chunk(err, 5), cap });
      }
    }
    const driver = `${PY_CAPTURE}
import sys, json, base64
res = []
for c in json.load(sys.stdin):
    o, e = Capture(c['cap']), Capture(c['cap'])
    for x in c['out']: o.write(base64.b64decode(x))
    for x in c['err']: e.write(base64.b64decode(x))
    res.append(render_outputs(o, e, c['cap']))
print(json.dumps(res))
`;
    const py = spawnSync('python3', ['-c', driver], { input: JSON.stringify(cases), encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const fromPython = JSON.parse(py.stdout) as unknown[];
    cases.forEach((c, i) => {
      const o = new OutputCapture(c.cap);
      const e = new OutputCapture(c.cap);
      c.out.forEach((x) => o.write(Buffer.from(x, 'base64')));
      c.err.forEach((x) => e.write(Buffer.from(x, 'base64')));
      assert.deepEqual(fromPython[i], renderOutputs(o, e, c.cap), `case ${i} (cap ${c.cap})`);
    });
  });
});
