/**
 * Agents as tools: `reviewer.asTool({...})` (agent.ts) gives another agent a tool that runs the reviewer as its own
 * durable run. The types live in agent.ts beside `Agent`, which they refer to and which refers to them.
 */
export type { AgentTool, AgentToolOptions } from './agent.js';
