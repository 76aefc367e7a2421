#!/usr/bin/env node
// `npx keel`: the built CLI (dist/). In a checkout without a build, `npm run keel -- ...` runs the sources through tsx.
import { runCli } from '../dist/cli.js';

runCli(process.argv.slice(2));
