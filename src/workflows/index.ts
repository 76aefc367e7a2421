/** The workflow bundle's entry: every workflow type the worker registers. */
export { agentRun } from './agent-run';
export { consolidateMemory } from './consolidate-memory';
