// What reaches history, RunState, `keel watch` and the audit: no escape sequences or control bytes, well-formed text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { safeText, UNSAFE_CHARACTER } from '../../src/util/safe-text.js';

describe('safeText', { timeout: 10_000 }, () => {
  test('drops ANSI escape sequences: colours, cursor moves, window titles, 8-bit CSI', () => {
    assert.equal(
      safeText('\u001b[31mred\u001b[0m \u001b[2J\u001b[H\u001b]0;pwned\u0007ok\u001b]8;;http://x\u001b\\link\u009b1mZ'),
      'red oklinkZ',
    );
  });

  test('shows NUL and other control bytes as \\xNN; keeps tabs, newlines and CRLF; a lone CR becomes a newline', () => {
    assert.equal(safeText('a\u0000b\u0007c\u007fd\te\r\nf\rg'), 'a\\x00b\\x07c\\x7fd\te\r\nf\ng');
  });

  test('lone surrogates become U+FFFD; pairs and other text stay', () => {
    assert.equal(safeText('x\ud800y\udc00z 😀 é'), 'x\ufffdy\ufffdz 😀 é');
    assert.doesNotThrow(() => new TextEncoder().encode(safeText('\ud800')));
  });

  test('the result holds no escape or control character but tab and newline', () => {
    const all = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join('');
    assert.doesNotMatch(safeText(all), UNSAFE_CHARACTER);
    assert.match(all, UNSAFE_CHARACTER);
  });
});
