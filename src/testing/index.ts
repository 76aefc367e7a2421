/**
 * `keel/testing`: what a team needs to test its agents offline — the scripted OpenAI-compatible model server and
 * its script format. Product code never imports this folder; the CLI's `dev` and `demo` use it when no
 * OPENAI_API_KEY is set.
 */
export { startScriptedModelServer } from './scripted-model.js';
export type { ScriptedModelServer, ScriptedModelServerOptions, ScriptStats } from './scripted-model.js';
export type { Script, ScriptStep, ScriptToolCall, ScriptError } from './script.js';
