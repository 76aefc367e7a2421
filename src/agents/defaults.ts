/** Defaults of an agent definition that the environment may set. */

export function defaultModel(): string {
  return process.env.KEEL_MODEL ?? 'gpt-4.1-mini';
}

export function defaultSandboxImage(): string {
  return process.env.KEEL_SANDBOX_IMAGE ?? 'keel-sandbox:latest';
}
