/**
 * Keel's custom search attributes: what makes runs findable in the Web UI (`KeelStatus="awaiting_approval"`).
 * The embedded dev server registers them at start; docker-compose's setup registers them too.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const KeelAgent = defineSearchAttributeKey('KeelAgent', SearchAttributeType.KEYWORD);
export const KeelStatus = defineSearchAttributeKey('KeelStatus', SearchAttributeType.KEYWORD);
export const KeelTotalTokens = defineSearchAttributeKey('KeelTotalTokens', SearchAttributeType.INT);

/** The run's own model spend in USD by its worker's prices (set once a priced call was made). */
export const KeelCostUsd = defineSearchAttributeKey('KeelCostUsd', SearchAttributeType.DOUBLE);

export const KEEL_SEARCH_ATTRIBUTES = [KeelAgent, KeelStatus, KeelTotalTokens, KeelCostUsd];
