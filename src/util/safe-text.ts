/**
 * Text a terminal, a JSON document and a database can all take: what commands and models print may hold ANSI escape
 * sequences (which recolour, move the cursor or retitle the terminal of whoever reads `keel watch` or the audit),
 * NUL and other control bytes, and broken UTF-16 (lone surrogates). No Node APIs: usable anywhere.
 */

// Matching control characters is the point here.
/* eslint-disable no-control-regex */
// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and two-character ESC sequences; also the 8-bit CSI.
const ESCAPES =
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]/g;
// Control characters other than tab and newline (a lone CR included), DEL and the C1 range.
const CONTROLS = /\r(?!\n)|[\u0000-\u0008\u000b-\u000c\u000e-\u001f\u007f-\u009f]/g;
/** What safeText leaves out: escape and control characters but tab, newline and CR (a CRLF stays). */
export const UNSAFE_CHARACTER = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
/* eslint-enable no-control-regex */
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `text` without escape sequences; other control characters shown as `\xNN` (a lone CR as a newline, so progress
 * output stays readable); lone surrogates as U+FFFD. Tabs, newlines and CRLF stay.
 */
export function safeText(text: string): string {
  return text
    .replace(ESCAPES, '')
    .replace(CONTROLS, (c) => (c === '\r' ? '\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
    .replace(LONE_SURROGATES, '\ufffd');
}
