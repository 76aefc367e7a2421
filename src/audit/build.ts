/**
 * Builds the audit document from a run's decoded history events and the blobs they refer to. Pure: no I/O, so
 * it is unit-tested on hand-made events and used by `keel audit` on real ones.
 */
import { runTenant } from '../agents/run-workspace.js';
import type { ResolvedRunWorkspace } from '../activities/run-workspace.js';
import type { AgentSpec } from '../agents/spec.js';
import type {
  CallModelInput,
  CallModelResult,
  CompactInput,
  CompactResult,
  GuardrailsResult,
  RunToolInput,
  RunToolResult,
} from '../activities/types.js';
import type { AgentRunInput, AgentRunResult, FanOutInput } from '../workflows/messages.js';
import type { ApprovalItem, RunItem, RunState, Usage } from '../workflows/run-state.js';
import {
  AUDIT_VERSION,
  type ApprovalRecord,
  type AuditDocument,
  type ChildRunRecord,
  type ModelCallRecord,
  type ToolCallRecord,
} from './document.js';
import type { AuditError, HistoryEvent } from './events.js';
import { deriveCommands, deriveFileChanges } from './tool-effects.js';
import { describeTool } from '../tools/kinds/index.js';

type Scheduled = Extract<HistoryEvent, { kind: 'activity_scheduled' }>;
type ModelInput = CallModelInput;

const OUTCOME_STATUS: Record<string, string> = {
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  terminated: 'terminated',
  timed_out: 'timed_out',
};

export function buildAudit(events: HistoryEvent[], blobs: ReadonlyMap<string, string>): AuditDocument {
  const b = new AuditBuilder(blobs);
  for (const e of events) b.add(e);
  return b.document();
}

class AuditBuilder {
  private doc: AuditDocument = {
    auditVersion: AUDIT_VERSION,
    runId: '',
    agent: '',
    agents: [],
    status: 'running',
    startedAt: '',
    input: '',
    continuedAsNew: 0,
    modelCalls: [],
    toolCalls: [],
    commands: [],
    fileChanges: [],
    approvals: [],
    guardrails: [],
    handoffs: [],
    sandbox: [],
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, requests: 0 },
    children: [],
    gaps: [],
  };
  private scheduled = new Map<number, Scheduled>();
  private specs = new Map<string, AgentSpec>();
  private calls = new Map<string, ToolCallRecord>();
  private approvals = new Map<string, ApprovalRecord>();
  private children = new Map<number, ChildRunRecord>();
  private guardrailKeys = new Set<string>();
  private lastStatus?: string;
  private shown = 0;
  private finalUsage?: Usage;

  constructor(private readonly blobs: ReadonlyMap<string, string>) {}

  add(e: HistoryEvent): void {
    switch (e.kind) {
      case 'started':
        return this.started(e);
      case 'activity_scheduled':
        this.scheduled.set(e.eventId, e);
        return;
      case 'activity_completed':
        return this.completed(this.scheduled.get(e.scheduledEventId), e.result, e.at);
      case 'activity_failed':
        return this.failed(this.scheduled.get(e.scheduledEventId), e.error, e.at);
      case 'local_activity':
        return this.completed(
          { kind: 'activity_scheduled', eventId: 0, at: e.at, activity: e.activity, input: undefined },
          e.result,
          e.at,
        );
      case 'signal':
        return this.decision(
          e.name === 'reject' ? 'reject' : e.name === 'approve' ? 'approve' : undefined,
          e.input,
          e.at,
          'signal',
          e.identity,
        );
      case 'update_accepted':
        return e.name === 'decide' ? this.decision(undefined, e.input, e.at, 'update', e.identity) : undefined;
      case 'search_attributes':
        this.lastStatus = e.status ?? this.lastStatus;
        return;
      case 'cancel_requested':
        this.doc.cancelRequested = { at: e.at, by: e.identity };
        return;
      case 'closed':
        return this.closed(e);
      case 'child_started':
        return this.childStarted(e);
      case 'child_closed':
        return this.childClosed(e);
    }
  }

  private childStarted(e: Extract<HistoryEvent, { kind: 'child_started' }>): void {
    const record: ChildRunRecord = {
      runId: e.runId,
      agent: (e.input as AgentRunInput | undefined)?.agent ?? 'unknown',
      status: 'running',
      startedAt: e.at,
    };
    this.children.set(e.eventId, record);
    this.doc.children.push(record);
  }

  private childClosed(e: Extract<HistoryEvent, { kind: 'child_closed' }>): void {
    const record = this.children.get(e.initiatedEventId);
    if (record) Object.assign(record, { status: OUTCOME_STATUS[e.outcome], endedAt: e.at, error: e.error });
  }

  private started(e: Extract<HistoryEvent, { kind: 'started' }>): void {
    const input = e.input as AgentRunInput;
    // A continued execution does not resolve its agents again: they come pinned in its input.
    for (const spec of Object.values(input.pinnedSpecs ?? {})) this.resolved(spec);
    if (this.doc.startedAt) {
      this.doc.continuedAsNew++;
      return;
    }
    this.doc.startedAt = e.at;
    if (e.identity) this.doc.startedBy = e.identity;
    this.doc.agent = input.state?.rootAgent ?? input.agent;
    const tenant = runTenant(input.tenant, input.context);
    if (tenant !== undefined) this.doc.tenant = tenant;
    const job = e.input as Partial<FanOutInput>;
    if (Array.isArray(job.inputs)) {
      this.doc.input = `a fan-out job over ${job.inputs.length} inputs:\n${job.inputs.map((i) => (typeof i === 'string' ? i : i.input)).join('\n')}`;
      return;
    }
    const items =
      typeof input.input === 'string'
        ? [{ type: 'message', role: 'user', content: input.input } as RunItem]
        : (input.state?.items ?? input.input);
    this.doc.input = items
      .filter((i) => i.type === 'message' && i.role === 'user')
      .map((i) => (i as { content: string }).content)
      .join('\n');
  }

  private completed(s: Scheduled | undefined, result: unknown, at: string): void {
    if (!s) return;
    switch (s.activity) {
      case 'resolveAgent':
      case 'pinSandboxMcpTools':
        return this.resolved(result as AgentSpec); // the latter: the spec re-pinned with in-sandbox MCP tools
      case 'callModel':
        return this.modelCall(s, result as CallModelResult, at);
      case 'compactConversation':
        return this.compaction(s, result as CompactResult, at);
      case 'runTool':
        return this.toolResult(s.input as RunToolInput, result as RunToolResult, at);
      case 'runInputGuardrails':
      case 'runOutputGuardrails':
        return (result as GuardrailsResult).items.forEach((g) => this.mergeItem(g));
      case 'resolveRunWorkspace':
        this.doc.workspace = (result as ResolvedRunWorkspace).receipt;
        return;
      case 'createSandbox':
      case 'snapshotSandbox':
      case 'destroySandbox':
        this.doc.sandbox.push({ operation: s.activity, at, summary: s.summary });
        return;
    }
  }

  private failed(s: Scheduled | undefined, error: AuditError, at: string): void {
    if (!s) return;
    if (s.activity === 'callModel' || s.activity === 'compactConversation') {
      this.doc.modelCalls.push({ ...this.modelCallBase(s), endedAt: at, error });
    } else if (s.activity === 'runTool') {
      const call = this.call((s.input as RunToolInput).call);
      Object.assign(call, { error, endedAt: at });
    } else if (s.activity.endsWith('Sandbox')) {
      this.doc.sandbox.push({ operation: s.activity, at, summary: s.summary, error: error.message });
    }
  }

  private resolved(spec: AgentSpec): void {
    if (spec.ref) this.specs.set(spec.ref, spec);
    if (this.specs.has(spec.version)) return;
    this.specs.set(spec.version, spec);
    this.doc.agents.push({ name: spec.name, version: spec.version, model: spec.model });
  }

  /** The pinned spec a model call used: inline (older runs) or by ref/version from resolveAgent's result. */
  private specOf(input: ModelInput): AgentSpec | undefined {
    if (input.spec) return input.spec;
    const ref = input.specRef;
    return ref && (this.specs.get(ref.ref) ?? [...this.specs.values()].reverse().find((s) => s.name === ref.agent));
  }

  private modelCallBase(s: Scheduled): ModelCallRecord {
    const input = s.input as ModelInput;
    const spec = this.specOf(input);
    const conversation = this.conversation(input.history);
    const newItems = conversation.slice(Math.min(this.shown, conversation.length));
    return {
      turn: input.turn,
      purpose: s.activity === 'compactConversation' ? 'compaction' : 'turn',
      agent: spec?.name ?? input.specRef?.agent ?? 'unknown',
      model: spec?.model ?? input.specRef?.model ?? 'unknown',
      specVersion: spec?.version,
      startedAt: s.at,
      sent: {
        instructions: spec && [spec.instructions, input.instructionsSuffix].filter(Boolean).join('\n\n'),
        tools: spec?.tools.map((t) => t.name) ?? [],
        conversationItems: conversation.length,
        newItems,
      },
    };
  }

  private modelCall(s: Scheduled, result: CallModelResult, at: string): void {
    const record = this.modelCallBase(s);
    const items = result.items.map((i) => this.expand(i));
    record.endedAt = at;
    record.received = { items, usage: result.usage };
    this.doc.modelCalls.push(record);
    this.shown = record.sent.conversationItems + items.length;
    this.addUsage(result.usage);
    record.sent.newItems.forEach((i) => this.mergeItem(i));
    for (const item of items) {
      this.mergeItem(item);
      if (item.type === 'tool_call') this.call(item).requestedAt ??= at;
    }
  }

  private compaction(s: Scheduled, result: CompactResult, at: string): void {
    const record = this.modelCallBase(s);
    const input = s.input as CompactInput;
    record.sent.newItems = [];
    record.sent.instructions = `summarize the first ${input.cut} items of the conversation`;
    record.endedAt = at;
    record.received = { items: [{ type: 'message', role: 'assistant', content: result.summary }], usage: result.usage };
    this.doc.modelCalls.push(record);
    this.shown = 0;
    this.addUsage(result.usage);
  }

  private addUsage(u: { inputTokens: number; outputTokens: number }): void {
    const t = this.doc.usage;
    this.doc.usage = {
      inputTokens: t.inputTokens + u.inputTokens,
      outputTokens: t.outputTokens + u.outputTokens,
      totalTokens: t.totalTokens + u.inputTokens + u.outputTokens,
      requests: t.requests + 1,
    };
  }

  /** The whole conversation a model call was sent: the blob history refers to, then the delta. */
  /** A stored conversation: a chain of chunks (each names the one before), or a whole array from older versions. */
  private assembled(ref: string): RunItem[] | undefined {
    const text = this.blobs.get(ref);
    if (!text) return undefined;
    const parsed = JSON.parse(text) as RunItem[] | { kind: string; prev?: string; items: RunItem[] };
    if (Array.isArray(parsed)) return parsed;
    const before = parsed.prev ? this.assembled(parsed.prev) : [];
    return before && [...before, ...parsed.items];
  }

  private conversation(history: CallModelInput['history'] | undefined): RunItem[] {
    if (!history) return [];
    let base: RunItem[] = [];
    if (history.baseRef) {
      const assembled = this.assembled(history.baseRef);
      if (assembled) base = assembled;
      else this.gap(`conversation blob ${history.baseRef} (${history.baseLength} items) is not in this blob store`);
    }
    return [...base, ...history.delta].map((i) => this.expand(i));
  }

  /** An item with its blob-held content restored (the preview otherwise, noted as a gap). */
  private expand(item: RunItem): RunItem {
    if ((item.type !== 'tool_result' && item.type !== 'message') || !item.blob) return item;
    const full = this.blobs.get(item.blob);
    if (full === undefined) {
      this.gap(`blob ${item.blob} is not in this blob store (a preview is shown)`);
      return item;
    }
    return item.type === 'tool_result' ? { ...item, output: full } : { ...item, content: full };
  }

  private gap(text: string): void {
    if (!this.doc.gaps.includes(text)) this.doc.gaps.push(text);
  }

  private call(c: { callId: string; name: string; arguments: string; agent?: string }): ToolCallRecord {
    let record = this.calls.get(c.callId);
    if (!record) {
      record = { callId: c.callId, tool: c.name, arguments: c.arguments, agent: c.agent };
      this.calls.set(c.callId, record);
    }
    return record;
  }

  private toolResult(input: RunToolInput, result: RunToolResult, at: string): void {
    const output = result.blob
      ? (this.blobs.get(result.blob) ??
        (this.gap(`tool output blob ${result.blob} is not in this blob store`), result.output))
      : result.output;
    Object.assign(this.call(input.call), { output, isError: result.isError, endedAt: at });
    for (const g of result.guardrails) this.mergeItem(g);
  }

  /** Folds an item the workflow recorded (seen in a later model call's input or the final state) into the document. */
  private mergeItem(item: RunItem): void {
    if (item.type === 'tool_call') this.call(item);
    else if (item.type === 'tool_result') {
      const call = this.calls.get(item.callId) ?? this.call({ callId: item.callId, name: item.name, arguments: '' });
      if (call.output === undefined)
        Object.assign(call, {
          output:
            this.expand(item).type === 'tool_result' ? (this.expand(item) as { output: string }).output : item.output,
          isError: item.isError,
        });
    } else if (item.type === 'approval') this.approvalItem(item);
    else if (item.type === 'approval_refused') this.refusedItem(item);
    else if (item.type === 'guardrail') {
      const key = JSON.stringify([item.kind, item.name, item.callId, item.tripped]);
      if (this.guardrailKeys.has(key)) return;
      this.guardrailKeys.add(key);
      this.doc.guardrails.push({
        kind: item.kind,
        name: item.name,
        tripped: item.tripped,
        callId: item.callId,
        info: item.info,
      });
    } else if (item.type === 'handoff' && !this.doc.handoffs.some((h) => h.callId === item.callId)) {
      this.doc.handoffs.push({ callId: item.callId, from: item.from, to: item.to, version: item.version });
    }
  }

  private approval(callId: string): ApprovalRecord {
    let a = this.approvals.get(callId);
    if (!a) {
      a = { callId, tool: '', arguments: '', identityVerified: false, pending: false };
      this.approvals.set(callId, a);
    }
    return a;
  }

  /** A decision as a signal or the `decide` update delivered it (the event says which client sent it). */
  private decision(
    kind: 'approve' | 'reject' | undefined,
    input: unknown,
    at: string,
    via: string,
    identity?: string,
  ): void {
    const d = input as
      { callId?: string; decision?: 'approve' | 'reject'; approver?: string; reason?: string } | undefined;
    const decision = kind ?? d?.decision;
    if (!d?.callId || !decision) return;
    const a = this.approval(d.callId);
    if (a.decision) return; // the first decision holds; later ones were refused
    Object.assign(a, {
      decision,
      approver: d.approver,
      reason: d.reason,
      decidedAt: at,
      via,
      clientIdentity: identity,
    });
  }

  /** The decision the workflow applied: it wins over whatever signals claimed (a forged one is refused there). */
  private approvalItem(item: ApprovalItem): void {
    const a = this.approval(item.callId);
    a.tool = item.tool;
    const verified = { identityVerified: Boolean(item.verifiedKey), verifiedKey: item.verifiedKey };
    Object.assign(a, {
      decision: item.decision,
      approver: item.approver,
      reason: item.reason,
      decidedAt: a.decidedAt ?? item.at,
      via: item.via,
      ...verified,
    });
  }

  /** A decision the workflow refused (unsigned or forged): kept, so the record shows who tried. */
  private refusedItem(item: Extract<RunItem, { type: 'approval_refused' }>): void {
    const a = this.approval(item.callId);
    if (a.refused?.some((r) => r.at === item.at && r.approver === item.approver)) return;
    (a.refused ??= []).push({
      approver: item.approver,
      decision: item.decision,
      why: item.why,
      at: item.at,
      via: item.via,
    });
  }

  private closed(e: Extract<HistoryEvent, { kind: 'closed' }>): void {
    if (e.outcome === 'continued_as_new') return;
    this.doc.status = OUTCOME_STATUS[e.outcome];
    this.doc.endedAt = e.at;
    this.doc.error = e.error;
    if (e.outcome === 'completed') {
      const r = e.result as AgentRunResult;
      this.doc.finalOutput = r.finalOutput;
      this.finalUsage = r.usage;
    }
    const state = e.details?.[0] as RunState | undefined;
    if (state?.items) {
      state.items.forEach((i) => this.mergeItem(this.expand(i)));
      this.finalUsage = state.usage;
    }
  }

  document(): AuditDocument {
    const doc = this.doc;
    if (!doc.endedAt) doc.status = this.lastStatus ?? 'running';
    if (this.finalUsage) doc.usage = this.finalUsage;
    doc.toolCalls = [...this.calls.values()];
    for (const call of doc.toolCalls) this.placeTool(call);
    doc.commands = deriveCommands(doc.toolCalls);
    doc.fileChanges = deriveFileChanges(doc.toolCalls);
    doc.approvals = this.approvalRecords(doc.toolCalls, doc.status === 'awaiting_approval');
    return doc;
  }

  /** The call's tool kind and where the tool comes from, by the spec its agent's run pinned (when the history has it). */
  private placeTool(call: ToolCallRecord): void {
    const spec = [...this.specs.values()].reverse().find((s) => s.name === (call.agent ?? this.doc.agent));
    const tool = spec?.tools.find((t) => t.name === call.tool);
    if (tool) Object.assign(call, { kind: tool.kind, origin: describeTool(tool) });
  }

  private approvalRecords(calls: ToolCallRecord[], awaiting: boolean): ApprovalRecord[] {
    if (awaiting) for (const c of calls) if (c.output === undefined && !c.error) this.approval(c.callId).pending = true;
    return [...this.approvals.values()].map((a) => {
      const call = this.calls.get(a.callId);
      const requestedAt = call?.requestedAt;
      const waitMs = requestedAt && a.decidedAt ? Date.parse(a.decidedAt) - Date.parse(requestedAt) : undefined;
      return {
        ...a,
        tool: a.tool || call?.tool || '',
        arguments: call?.arguments ?? '',
        requestedAt,
        waitMs,
        pending: a.pending && !a.decision,
      };
    });
  }
}
