/**
 * Test fixture (not shipped): a small in-memory `ControlPlane` with the authorization rules of
 * docs (admin / account / listed zones, read / write, NOT_FOUND for other tenants' zones),
 * versions, If-Match and all-or-nothing change sets, so the API routes can be exercised before
 * the real control plane exists. Record validation is deliberately shallow (A must be IPv4,
 * names inside the zone, CNAME exclusivity, TTL bounds).
 * @module
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  type Account,
  type AuditEntry,
  ControlError,
  type ControlPlane,
  type NewToken,
  type Page,
  type PageRequest,
  type Principal,
  type RRsetChange,
  type RRsetData,
  type ServedZone,
  type TokenInfo,
  type TokenScope,
  type User,
  type VersionDiff,
  type ZoneChangeEvent,
  type ZoneDetail,
  type ZoneInfo,
  type ZoneVersion,
} from '../control/types.js';

interface StoredVersion extends ZoneVersion {
  fromSerial: number;
  rrsets: RRsetData[];
  addedRecords: string[];
  removedRecords: string[];
}

interface StoredZone {
  id: string;
  name: string;
  accountId: string;
  createdAt: string;
  updatedAt: string;
  rrsets: RRsetData[];
  versions: StoredVersion[];
}

const now = (): string => new Date().toISOString();

function fail(code: ControlError['code'], message: string, field?: string): never {
  throw new ControlError(code, message, field);
}

function abs(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

function inZone(name: string, zone: string): boolean {
  const n = name.toLowerCase();
  return n === zone || n.endsWith(`.${zone}`);
}

function page<T>(items: T[], req: PageRequest | undefined): Page<T> {
  const limit = Math.min(req?.limit ?? 100, 1000);
  const start = req?.cursor === undefined ? 0 : Number(req.cursor);
  if (!Number.isInteger(start) || start < 0) fail('CTL_ERR_VALIDATION', 'bad cursor', 'cursor');
  const slice = items.slice(start, start + limit);
  const out: Page<T> = { items: slice };
  if (start + limit < items.length) out.next = String(start + limit);
  return out;
}

function linesOf(rrsets: RRsetData[]): string[] {
  const out: string[] = [];
  for (const r of rrsets)
    for (const x of r.records) if (!x.disabled) out.push(`${r.name} ${r.ttl} IN ${r.type} ${x.content}`);
  return out;
}

function serialOf(rrsets: RRsetData[]): number {
  const soa = rrsets.find((r) => r.type === 'SOA');
  return soa ? Number(soa.records[0].content.split(/\s+/)[2]) : 0;
}

function withSerial(rrsets: RRsetData[], serial: number): RRsetData[] {
  return rrsets.map((r) => {
    if (r.type !== 'SOA') return r;
    const f = r.records[0].content.split(/\s+/);
    f[2] = String(serial >>> 0);
    return { ...r, records: [{ content: f.join(' ') }] };
  });
}

function sortRRsets(rrsets: RRsetData[]): RRsetData[] {
  const rank = (r: RRsetData): string =>
    `${r.name.toLowerCase().split('.').reverse().join('.')} ${r.type === 'SOA' ? '' : r.type}`;
  return [...rrsets].sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

/** Validates a zone's content (shallow). */
function checkContent(zone: string, rrsets: RRsetData[], fieldOf: (i: number) => string): void {
  rrsets.forEach((r, i) => {
    if (!inZone(r.name, zone))
      fail('CTL_ERR_VALIDATION', `${r.name} is not inside ${zone}`, `${fieldOf(i)}.name`);
    if (!Number.isInteger(r.ttl) || r.ttl < 0 || r.ttl > 2147483647)
      fail('CTL_ERR_VALIDATION', 'bad TTL', `${fieldOf(i)}.ttl`);
    r.records.forEach((x, j) => {
      const bad =
        x.content.trim() === '' ||
        (r.type === 'A' && !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(x.content)) ||
        (r.type === 'TXT' && !x.content.startsWith('"'));
      if (bad)
        fail(
          'CTL_ERR_VALIDATION',
          `bad ${r.type} content '${x.content}'`,
          `${fieldOf(i)}.records[${j}].content`,
        );
    });
    if (r.type === 'CNAME' && rrsets.some((o) => o !== r && o.name.toLowerCase() === r.name.toLowerCase())) {
      fail('CTL_ERR_VALIDATION', `${r.name} has a CNAME and other data`, `${fieldOf(i)}.type`);
    }
  });
}

/** Parses `name ttl IN type rdata` lines (absolute names only). */
function parseZonefile(text: string, zone: string): RRsetData[] {
  const out: RRsetData[] = [];
  text.split('\n').forEach((line, i) => {
    const l = line.replace(/;.*$/, '').trim();
    if (l === '') return;
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.+)$/i.exec(l);
    if (!m) fail('CTL_ERR_VALIDATION', `line ${i + 1}: cannot parse '${l}'`, `zonefile:${i + 1}`);
    const [, name, ttl, type, content] = m;
    const key = (r: RRsetData): boolean =>
      r.name.toLowerCase() === abs(name).toLowerCase() && r.type === type.toUpperCase();
    const existing = out.find(key);
    if (existing) existing.records.push({ content });
    else out.push({ name: abs(name), type: type.toUpperCase(), ttl: Number(ttl), records: [{ content }] });
  });
  if (!out.some((r) => r.type === 'SOA')) fail('CTL_ERR_VALIDATION', 'no SOA', 'zonefile');
  checkContent(zone, out, () => 'zonefile');
  return out;
}

/** An in-memory control plane for API tests. */
export class MemoryControl implements ControlPlane {
  readonly accounts = new Map<string, Account>();
  readonly users = new Map<string, User>();
  readonly tokens = new Map<string, TokenInfo & { hash: string }>();
  readonly zones = new Map<string, StoredZone>();
  readonly audit: AuditEntry[] = [];
  #listeners = new Set<(ev: ZoneChangeEvent) => void>();

  async authenticate(secret: string, remote?: string): Promise<Principal | null> {
    const hash = createHash('sha256').update(secret).digest('hex');
    for (const t of this.tokens.values()) {
      if (t.hash === hash && t.revokedAt === null) {
        t.lastUsedAt = now();
        return { tokenId: t.id, accountId: t.accountId, scope: t.scope, ...(remote ? { remote } : {}) };
      }
    }
    return null;
  }

  #log(p: Principal, action: string, target: string, accountId: string | null, detail: unknown = null): void {
    this.audit.push({
      id: randomUUID(),
      at: now(),
      tokenId: p.tokenId,
      accountId,
      action,
      target,
      remote: p.remote ?? null,
      detail,
    });
  }

  #admin(p: Principal): void {
    if (!p.scope.admin) fail('CTL_ERR_FORBIDDEN', 'administrators only');
  }

  #accountOf(p: Principal, requested: string | undefined): string {
    if (p.scope.admin) {
      const id = requested ?? p.accountId;
      if (id == null) fail('CTL_ERR_VALIDATION', 'accountId is required', 'accountId');
      if (!this.accounts.has(id)) fail('CTL_ERR_NOT_FOUND', `no account ${id}`, 'accountId');
      return id;
    }
    if (requested !== undefined && requested !== p.accountId)
      fail('CTL_ERR_NOT_FOUND', `no account ${requested}`, 'accountId');
    if (p.accountId === null) fail('CTL_ERR_FORBIDDEN', 'no account');
    return p.accountId;
  }

  #sees(p: Principal, z: StoredZone): boolean {
    if (p.scope.admin) return true;
    if (z.accountId !== p.accountId) return false;
    return p.scope.zones === undefined || p.scope.zones.includes(z.name);
  }

  #zone(p: Principal, name: string, write: boolean): StoredZone {
    const z = this.zones.get(abs(name).toLowerCase());
    if (!z || !this.#sees(p, z)) fail('CTL_ERR_NOT_FOUND', `no zone ${abs(name)}`, 'zone');
    if (write && p.scope.access !== 'write' && !p.scope.admin) fail('CTL_ERR_FORBIDDEN', 'read-only token');
    return z;
  }

  #info(z: StoredZone): ZoneInfo {
    const last = z.versions[z.versions.length - 1];
    return {
      id: z.id,
      name: z.name,
      accountId: z.accountId,
      serial: last.serial,
      version: last.version,
      recordCount: z.rrsets.reduce((n, r) => n + r.records.length, 0),
      createdAt: z.createdAt,
      updatedAt: z.updatedAt,
    };
  }

  #detail(z: StoredZone): ZoneDetail {
    return { ...this.#info(z), rrsets: structuredClone(z.rrsets) };
  }

  #commit(p: Principal, z: StoredZone, next: RRsetData[], comment: string | null, first = false): void {
    const prev = first ? [] : z.rrsets;
    const prevSerial = first ? 0 : serialOf(prev);
    const proposed = serialOf(next);
    const serial = first
      ? proposed
      : proposed > prevSerial && proposed !== serialOf(prev)
        ? proposed
        : (prevSerial + 1) >>> 0;
    const content = sortRRsets(withSerial(next, serial));
    const before = new Set(linesOf(prev));
    const after = new Set(linesOf(content));
    const addedRecords = [...after].filter((l) => !before.has(l));
    const removedRecords = [...before].filter((l) => !after.has(l));
    z.rrsets = content;
    z.updatedAt = now();
    z.versions.push({
      version: z.versions.length + 1,
      serial,
      fromSerial: prevSerial,
      createdAt: z.updatedAt,
      actor: p.tokenId,
      remote: p.remote ?? null,
      comment,
      added: addedRecords.length,
      removed: removedRecords.length,
      addedRecords,
      removedRecords,
      rrsets: structuredClone(content),
    });
    for (const l of this.#listeners) l({ zone: z.name, version: z.versions.length, deleted: false });
  }

  #checkIfMatch(z: StoredZone, ifMatch: number | undefined): void {
    const v = z.versions.length;
    if (ifMatch !== undefined && ifMatch !== v) fail('CTL_ERR_PRECONDITION', `zone is at version ${v}`);
  }

  async createAccount(
    p: Principal,
    input: { name: string; maxZones?: number; maxRecords?: number },
  ): Promise<Account> {
    this.#admin(p);
    if ([...this.accounts.values()].some((a) => a.name === input.name))
      fail('CTL_ERR_CONFLICT', 'name taken', 'name');
    const a: Account = {
      id: randomUUID(),
      name: input.name,
      maxZones: input.maxZones ?? 100,
      maxRecords: input.maxRecords ?? 10000,
      createdAt: now(),
    };
    this.accounts.set(a.id, a);
    this.#log(p, 'account.create', a.id, a.id);
    return a;
  }

  async listAccounts(p: Principal, req?: PageRequest): Promise<Page<Account>> {
    this.#admin(p);
    return page([...this.accounts.values()], req);
  }

  async getAccount(p: Principal, id: string): Promise<Account> {
    const a = this.accounts.get(id);
    if (!a || (!p.scope.admin && p.accountId !== id)) fail('CTL_ERR_NOT_FOUND', `no account ${id}`);
    return a;
  }

  async createUser(p: Principal, input: { accountId: string; name: string }): Promise<User> {
    this.#admin(p);
    if (!this.accounts.has(input.accountId)) fail('CTL_ERR_NOT_FOUND', 'no such account', 'accountId');
    const u: User = { id: randomUUID(), accountId: input.accountId, name: input.name, createdAt: now() };
    this.users.set(u.id, u);
    return u;
  }

  #mint(name: string, accountId: string | null, userId: string | null, scope: TokenScope): NewToken {
    const secret = `sb_${randomBytes(32).toString('base64url')}`;
    const t: TokenInfo = {
      id: randomUUID(),
      accountId,
      userId,
      name,
      scope,
      prefix: secret.slice(0, 10),
      createdAt: now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    this.tokens.set(t.id, { ...t, hash: createHash('sha256').update(secret).digest('hex') });
    return { ...t, secret };
  }

  async createToken(
    p: Principal,
    input: { name: string; accountId?: string | null; userId?: string; scope: TokenScope },
  ): Promise<NewToken> {
    if (p.scope.access !== 'write' && !p.scope.admin) fail('CTL_ERR_FORBIDDEN', 'read-only token');
    if (input.scope.admin && !p.scope.admin)
      fail('CTL_ERR_FORBIDDEN', 'only administrators make administrator tokens', 'scope.admin');
    let accountId: string | null;
    if (p.scope.admin) {
      accountId = input.accountId === undefined ? p.accountId : input.accountId;
      if (accountId !== null && !this.accounts.has(accountId))
        fail('CTL_ERR_NOT_FOUND', 'no such account', 'accountId');
      if (accountId === null && !input.scope.admin)
        fail('CTL_ERR_VALIDATION', 'a non-admin token needs an account', 'accountId');
    } else {
      if (input.accountId != null && input.accountId !== p.accountId)
        fail('CTL_ERR_NOT_FOUND', 'no such account', 'accountId');
      accountId = p.accountId;
    }
    const t = this.#mint(input.name, accountId, input.userId ?? null, input.scope);
    this.#log(p, 'token.create', t.id, accountId);
    return t;
  }

  async listTokens(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<TokenInfo>> {
    const all = [...this.tokens.values()]
      .filter((t) =>
        p.scope.admin
          ? input?.accountId === undefined || t.accountId === input.accountId
          : t.accountId === p.accountId,
      )
      .map(({ hash: _hash, ...t }) => t);
    return page(all, input);
  }

  async revokeToken(p: Principal, id: string): Promise<void> {
    const t = this.tokens.get(id);
    if (!t || (!p.scope.admin && t.accountId !== p.accountId)) fail('CTL_ERR_NOT_FOUND', `no token ${id}`);
    if (p.scope.access !== 'write' && !p.scope.admin) fail('CTL_ERR_FORBIDDEN', 'read-only token');
    t.revokedAt = now();
    this.#log(p, 'token.revoke', id, t.accountId);
  }

  async listZones(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<ZoneInfo>> {
    const all = [...this.zones.values()]
      .filter((z) => this.#sees(p, z) && (input?.accountId === undefined || z.accountId === input.accountId))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((z) => this.#info(z));
    return page(all, input);
  }

  async createZone(
    p: Principal,
    input: {
      name: string;
      accountId?: string;
      rrsets?: RRsetData[];
      zonefile?: string;
      nameservers?: string[];
    },
  ): Promise<ZoneDetail> {
    if (p.scope.access !== 'write' && !p.scope.admin) fail('CTL_ERR_FORBIDDEN', 'read-only token');
    const name = abs(input.name).toLowerCase();
    if (!/^([a-z0-9_/-]+\.)+$/.test(name)) fail('CTL_ERR_VALIDATION', `bad zone name ${input.name}`, 'name');
    const accountId = this.#accountOf(p, input.accountId);
    if (this.zones.has(name)) fail('CTL_ERR_CONFLICT', `zone ${name} exists`, 'name');
    const account = this.accounts.get(accountId);
    if (
      account &&
      [...this.zones.values()].filter((z) => z.accountId === accountId).length >= account.maxZones
    ) {
      fail('CTL_ERR_QUOTA', 'zone quota reached');
    }
    let rrsets: RRsetData[];
    if (input.zonefile !== undefined) rrsets = parseZonefile(input.zonefile, name);
    else {
      rrsets = structuredClone(input.rrsets ?? []).map((r) => ({ ...r, name: abs(r.name) }));
      checkContent(name, rrsets, (i) => `rrsets[${i}]`);
      if (!rrsets.some((r) => r.type === 'SOA')) {
        rrsets.push({
          name,
          type: 'SOA',
          ttl: 3600,
          records: [{ content: `ns1.${name} hostmaster.${name} 1 10800 3600 604800 3600` }],
        });
      }
      if (input.nameservers && input.nameservers.length > 0) {
        rrsets.push({
          name,
          type: 'NS',
          ttl: 3600,
          records: input.nameservers.map((n) => ({ content: abs(n) })),
        });
      }
    }
    const z: StoredZone = {
      id: randomUUID(),
      name,
      accountId,
      createdAt: now(),
      updatedAt: now(),
      rrsets: [],
      versions: [],
    };
    this.#commit(p, z, rrsets, null, true);
    this.zones.set(name, z);
    this.#log(p, 'zone.create', name, accountId);
    return this.#detail(z);
  }

  async getZone(p: Principal, name: string): Promise<ZoneDetail> {
    return this.#detail(this.#zone(p, name, false));
  }

  async deleteZone(p: Principal, name: string, opts?: { ifMatch?: number }): Promise<void> {
    const z = this.#zone(p, name, true);
    this.#checkIfMatch(z, opts?.ifMatch);
    this.zones.delete(z.name);
    this.#log(p, 'zone.delete', z.name, z.accountId);
    for (const l of this.#listeners) l({ zone: z.name, version: z.versions.length, deleted: true });
  }

  async changeRRsets(
    p: Principal,
    name: string,
    changes: RRsetChange[],
    opts?: { ifMatch?: number; comment?: string },
  ): Promise<ZoneInfo> {
    const z = this.#zone(p, name, true);
    this.#checkIfMatch(z, opts?.ifMatch);
    let next = structuredClone(z.rrsets);
    changes.forEach((c, i) => {
      const same = (r: RRsetData): boolean =>
        r.name.toLowerCase() === abs(c.name).toLowerCase() && r.type === c.type;
      const cur = next.find(same);
      next = next.filter((r) => !same(r));
      if (c.op === 'replace') next.push({ name: abs(c.name), type: c.type, ttl: c.ttl, records: c.records });
      else if (c.op === 'add')
        next.push({
          name: abs(c.name),
          type: c.type,
          ttl: c.ttl,
          records: [...(cur?.records ?? []), ...c.records],
        });
      else if (c.op === 'remove' && cur) {
        const left = cur.records.filter((x) => !c.records.some((y) => y.content === x.content));
        if (left.length > 0) next.push({ ...cur, records: left });
      }
      checkContent(z.name, next.filter(same), () => `changes[${i}]`);
    });
    checkContent(z.name, next, () => 'changes');
    this.#commit(p, z, next, opts?.comment ?? null);
    this.#log(p, 'zone.change', z.name, z.accountId, { changes: changes.length });
    return this.#info(z);
  }

  async importZone(
    p: Principal,
    name: string,
    zonefile: string,
    opts?: { ifMatch?: number; comment?: string },
  ): Promise<ZoneInfo> {
    const z = this.#zone(p, name, true);
    this.#checkIfMatch(z, opts?.ifMatch);
    this.#commit(p, z, parseZonefile(zonefile, z.name), opts?.comment ?? null);
    this.#log(p, 'zone.import', z.name, z.accountId);
    return this.#info(z);
  }

  async exportZone(p: Principal, name: string): Promise<string> {
    return `${linesOf(this.#zone(p, name, false).rrsets).join('\n')}\n`;
  }

  async listVersions(p: Principal, name: string, req?: PageRequest): Promise<Page<ZoneVersion>> {
    const z = this.#zone(p, name, false);
    return page(
      [...z.versions]
        .reverse()
        .map(({ rrsets: _r, addedRecords: _a, removedRecords: _d, fromSerial: _f, ...v }) => v),
      req,
    );
  }

  async getVersion(p: Principal, name: string, version: number): Promise<VersionDiff> {
    const v = this.#zone(p, name, false).versions[version - 1];
    if (!v) fail('CTL_ERR_NOT_FOUND', `no version ${version}`, 'version');
    const { rrsets: _r, ...diff } = v;
    return structuredClone(diff);
  }

  async rollback(
    p: Principal,
    name: string,
    version: number,
    opts?: { ifMatch?: number; comment?: string },
  ): Promise<ZoneInfo> {
    const z = this.#zone(p, name, true);
    this.#checkIfMatch(z, opts?.ifMatch);
    const v = z.versions[version - 1];
    if (!v) fail('CTL_ERR_NOT_FOUND', `no version ${version}`, 'version');
    this.#commit(p, z, structuredClone(v.rrsets), opts?.comment ?? `rollback to ${version}`);
    return this.#info(z);
  }

  async listAudit(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<AuditEntry>> {
    const rows = this.audit.filter((a) =>
      p.scope.admin
        ? input?.accountId === undefined || a.accountId === input.accountId
        : a.accountId === p.accountId,
    );
    return page(rows, input);
  }

  onZoneChange(listener: (ev: ZoneChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async *servedZones(): AsyncIterable<ServedZone> {
    for (const z of this.zones.values())
      yield {
        name: z.name,
        serial: this.#info(z).serial,
        version: z.versions.length,
        text: linesOf(z.rrsets).join('\n'),
      };
  }

  async servedZone(name: string): Promise<ServedZone | null> {
    const z = this.zones.get(abs(name).toLowerCase());
    return z
      ? {
          name: z.name,
          serial: this.#info(z).serial,
          version: z.versions.length,
          text: linesOf(z.rrsets).join('\n'),
        }
      : null;
  }

  async bootstrapAdmin(secret?: string): Promise<{ created: boolean; tokenId: string; secret?: string }> {
    if (secret !== undefined) {
      const hash = createHash('sha256').update(secret).digest('hex');
      const have = [...this.tokens.values()].find((t) => t.hash === hash);
      if (have) return { created: false, tokenId: have.id };
      const t: TokenInfo = {
        id: randomUUID(),
        accountId: null,
        userId: null,
        name: 'admin',
        scope: { admin: true, access: 'write' },
        prefix: secret.slice(0, 10),
        createdAt: now(),
        lastUsedAt: null,
        revokedAt: null,
      };
      this.tokens.set(t.id, { ...t, hash });
      return { created: true, tokenId: t.id };
    }
    const existing = [...this.tokens.values()].find((t) => t.scope.admin && t.revokedAt === null);
    if (existing) return { created: false, tokenId: existing.id };
    const t = this.#mint('admin', null, null, { admin: true, access: 'write' });
    return { created: true, tokenId: t.id, secret: t.secret };
  }

  systemPrincipal(): Principal {
    return { tokenId: 'system', accountId: null, scope: { admin: true, access: 'write' } };
  }

  async isEmpty(): Promise<boolean> {
    return this.zones.size === 0;
  }

  async close(): Promise<void> {}
}
