/**
 * Compaction: when the conversation passes a token threshold, older items are replaced by a model-written
 * summary. The replaced items go to the blob store (the compaction item keeps their ref), so nothing is lost
 * for audit, and workflow history stays small.
 */
import type { Capability } from './capabilities.js';
import type { CompactionOptions, CompactionSpec } from './settings.js';
export type { CompactionOptions, CompactionSpec } from './settings.js';

export function compactionSpecOf(options: CompactionOptions): CompactionSpec {
  const threshold =
    options.thresholdTokens ??
    (options.contextWindow ? Math.floor(options.contextWindow * (options.fraction ?? 0.8)) : undefined);
  if (!threshold || threshold <= 0) throw new TypeError('compaction() needs thresholdTokens or contextWindow');
  return {
    thresholdTokens: threshold,
    keepRecentTurns: Math.max(1, options.keepRecentTurns ?? 2),
    model: options.model,
  };
}

export function compaction(options: CompactionOptions): Capability {
  return {
    name: 'compaction',
    compaction: compactionSpecOf(options),
  };
}
