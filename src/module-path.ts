/**
 * The file behind a module next to the caller, whether Keel runs from its TypeScript sources (tests, `tsx`) or
 * from the built JavaScript in dist/ (the installed package): `./workflows/index.js` is `.ts` in one, `.js` in the other.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function siblingModule(base: string, relative: string): string {
  const js = fileURLToPath(new URL(relative, base));
  const ts = js.replace(/\.js$/, '.ts');
  return existsSync(js) ? js : ts;
}
