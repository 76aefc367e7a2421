#!/usr/bin/env node
// The `keel` command: the CLI from the built package (dist/). In a checkout, `npm run keel -- ...` runs the sources.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  // A clone that was never built: say what to do instead of a module-resolution stack.
  console.error(
    'keel: this checkout is not built (no dist/): run `npm run build` first, or run the sources with `npm run keel -- ...`',
  );
  process.exit(2);
}
await import(main.href);
