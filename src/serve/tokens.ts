/**
 * Who may use `keel serve`: bearer tokens, each naming a principal and what it may do. From a JSON file
 * (`--tokens FILE`) or KEEL_SERVE_TOKENS: `[{ "token": "<at least 24 chars>", "principal": "ops-bot",
 * "can": ["start", "read", "decide"], "approveAs": ["ann"], "tenant": "acme" }]`. No token, no access. Tokens are compared by their
 * SHA-256 in constant time, and only hashes are kept in memory after loading.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KeelError } from '../errors.js';
import { parseJson } from '../util/parse-json.js';

/** `start`: start runs, send to conversations, cancel; `read`: state, list, audit, events; `decide`: approvals as `approveAs`. */
export const SCOPES = ['start', 'read', 'decide'] as const;
export type Scope = (typeof SCOPES)[number];

const TokenSchema = z.strictObject({
  token: z.string().min(24, { error: 'a token needs at least 24 characters' }),
  principal: z
    .string()
    .min(1)
    .regex(/^[\w.@-]+$/, { error: 'a principal is letters, digits, _ . @ -' }),
  can: z.array(z.enum(SCOPES)).min(1),
  /** Approver names this principal may decide as (`*`: any); only with `decide`. */
  approveAs: z.array(z.string().min(1)).optional(),
  /** The tenant of every run this principal starts (a start request cannot name another). */
  tenant: z.string().min(1).optional(),
});
const TokensSchema = z.array(TokenSchema);

export interface Principal {
  name: string;
  can: Scope[];
  approveAs: string[];
  tenant?: string;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

export class TokenTable {
  private readonly entries: { hash: Buffer; principal: Principal }[];

  constructor(tokens: z.infer<typeof TokensSchema>) {
    this.entries = tokens.map((t) => ({
      hash: digest(t.token),
      principal: {
        name: t.principal,
        can: t.can,
        approveAs: t.approveAs ?? [],
        ...(t.tenant ? { tenant: t.tenant } : {}),
      },
    }));
  }

  /** Parses the JSON text of a token file; one clear error naming the first bad field. */
  static parse(text: string, source: string): TokenTable {
    const json = parseJson(text, source);
    const parsed = TokensSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
      throw new KeelError('bad_usage', `${source}: ${where ? `${where} ` : ''}${issue.message}`);
    }
    if (parsed.data.length === 0)
      throw new KeelError('bad_usage', `${source} lists no tokens: nobody could use keel serve`);
    return new TokenTable(parsed.data);
  }

  static load(file: string | undefined, env = process.env.KEEL_SERVE_TOKENS): TokenTable {
    if (file) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new KeelError('bad_usage', `cannot read tokens file ${file}: ${(err as Error).message}`);
      }
      return TokenTable.parse(text, file);
    }
    if (env) return TokenTable.parse(env, 'KEEL_SERVE_TOKENS');
    throw new KeelError(
      'bad_usage',
      'keel serve needs tokens: --tokens FILE or KEEL_SERVE_TOKENS (JSON: [{ token, principal, can, approveAs? }])',
    );
  }

  /** The principal of an `Authorization: Bearer <token>` header, or undefined. */
  authenticate(header: string | undefined): Principal | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) return undefined;
    const hash = digest(m[1]);
    return this.entries.find((e) => timingSafeEqual(e.hash, hash))?.principal;
  }
}
