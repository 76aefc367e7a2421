#!/usr/bin/env node
// The `keel` command: the CLI from the built package (dist/). In a checkout, `npm run keel -- ...` runs the sources.
import '../dist/main.js';
