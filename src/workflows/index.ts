/** The workflow bundle's entry: every workflow type the worker registers. */
export { agentRun } from './agent-run.js';
export { consolidateMemory } from './consolidate-memory.js';
export { fanOut } from './fan-out.js';
export { keelWebhook } from './webhooks.js';
