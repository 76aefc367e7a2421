#!/usr/bin/env node
// `npx keel`: runs the TypeScript CLI through tsx (a runtime dependency), so no build step is needed.
require('tsx/cjs');
require('../src/cli.ts').runCli(process.argv.slice(2));
