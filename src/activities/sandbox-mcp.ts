/**
 * `pinSandboxMcpTools`: runs on the sandbox's host once the sandbox exists, lists the tools of the agent's MCP
 * servers inside it (starting them), and returns the run's spec with those tools, pinned anew. A server that will
 * not start or list is one clear, final error: the run fails with the server's own words.
 */
import { Context } from '@temporalio/activity';
import type { AgentRegistry } from '../tools/registry.js';
import type { AgentSpec } from '../agents/spec.js';
import { KeelError } from '../errors.js';
import type { SandboxClient } from '../sandbox/types.js';
import type { SandboxSession } from '../workflows/run-state.js';
import type { PinnedSpecs } from './pinned-specs.js';
import { keelFailure } from '../failures.js';

export interface PinSandboxMcpInput {
  spec: AgentSpec;
  session: SandboxSession;
}

export function sandboxMcpActivities(deps: { registry: AgentRegistry; sandboxes?: SandboxClient; specs: PinnedSpecs }) {
  return {
    async pinSandboxMcpTools(input: PinSandboxMcpInput): Promise<AgentSpec> {
      const sandbox = await deps.sandboxes?.attach(input.session.containerId);
      if (!sandbox) throw keelFailure('SandboxGone', `container ${input.session.containerId} is gone`);
      const ctx = Context.current();
      const heartbeat = setInterval(() => ctx.heartbeat(), 1_000); // starting a server in the sandbox takes a moment
      try {
        return await deps.specs.pin(await deps.registry.withSandboxMcpTools(input.spec, sandbox));
      } catch (err) {
        if (err instanceof KeelError) throw err;
        const message = err instanceof Error ? err.message : String(err);
        throw keelFailure('McpServerUnavailable', message);
      } finally {
        clearInterval(heartbeat);
      }
    },
  };
}
