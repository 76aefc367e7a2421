/**
 * Compaction: when the conversation passes a token threshold, older items are replaced by a model-written
 * summary. The replaced items go to the blob store (the compaction item keeps their ref), so nothing is lost
 * for audit, and workflow history stays small.
 */
import type { Capability } from './capabilities.js';

export interface CompactionOptions {
  /** Compact when the last model call's context (input + output tokens) passes this. */
  thresholdTokens?: number;
  /** Or: a fraction (default 0.8) of the model's context window. */
  contextWindow?: number;
  fraction?: number;
  /** Model turns kept verbatim after the summary. Default 2. */
  keepRecentTurns?: number;
  /** Model that writes the summary; default the agent's own. */
  model?: string;
}

export interface CompactionSpec {
  thresholdTokens: number;
  keepRecentTurns: number;
  model?: string;
}

export function compactionSpecOf(options: CompactionOptions): CompactionSpec {
  const threshold = options.thresholdTokens ?? (options.contextWindow ? Math.floor(options.contextWindow * (options.fraction ?? 0.8)) : undefined);
  if (!threshold || threshold <= 0) throw new TypeError('compaction() needs thresholdTokens or contextWindow');
  return { thresholdTokens: threshold, keepRecentTurns: Math.max(1, options.keepRecentTurns ?? 2), model: options.model };
}

export function compaction(options: CompactionOptions): Capability {
  return {
    name: 'compaction',
    compaction: compactionSpecOf(options),
  };
}
