/**
 * The control plane on the store: every `ControlPlane` operation, each authorized from its
 * Principal and each change one transaction that validates against the current state (read
 * inside the transaction, under the zone's row lock on PostgreSQL), then writes the changed
 * RRsets, a version row with the diff, the bumped SOA serial and an audit row, and notifies
 * the other replicas — or, on any failure, writes nothing.
 *
 * This is the facade; the work is done by its parts, which share one `PlaneContext`:
 * `events.ts` (change feed), `tokens.ts` (tokens and authentication), `accounts.ts`
 * (accounts and users), `zones.ts` (zone changes and the big-zone cache), `history.ts`
 * (versions, diffs, audit), `serving.ts` (what the DNS workers load) and `rows.ts` (row
 * mapping).
 * @module
 */
import { type ChangeFeed, openStore, type Store } from '../store/index.js';
import type { CatalogChange } from '../xfr/catz/format.js';
import { Accounts } from './accounts.js';
import { CatalogConsumers } from './catalog-consumer.js';
import { CatalogZones } from './catalog-zones.js';
import { PlaneContext } from './context.js';
import { DeletedZones } from './deleted.js';
import { DnsUpdates } from './dns-updates.js';
import { EdgeRows, type StoredEdge } from './edges.js';
import { ChangeEvents } from './events.js';
import { History } from './history.js';
import { Retention } from './retention.js';
import { Secondaries } from './secondary.js';
import { Serving } from './serving.js';
import { Tokens } from './tokens.js';
import { TsigKeys } from './tsig-keys.js';
import type {
  ControlPlane,
  ControlPlaneOptions,
  Principal,
  ZoneChangeEvent,
  ZoneSettingsChange,
} from './types.js';
import { ZoneShields } from './zone-shield.js';
import { Zones } from './zones.js';

export { DEFAULT_ACCOUNT } from './context.js';
export { ZONE_CHANGE_CHANNEL } from './events.js';

type Args<K extends keyof ControlPlane> = ControlPlane[K] extends (...a: infer A) => unknown ? A : never;

/** The control plane over an open store. */
export class StoreControlPlane implements ControlPlane {
  readonly #ctx: PlaneContext;
  readonly #events: ChangeEvents;
  readonly #tokens: Tokens;
  readonly #accounts: Accounts;
  readonly #zones: Zones;
  readonly #history: History;
  readonly #retention: Retention;
  readonly #deleted: DeletedZones;
  readonly #serving: Serving;
  readonly #shields: ZoneShields;
  readonly #tsig: TsigKeys;
  readonly #secondaries: Secondaries;
  readonly #updates: DnsUpdates;
  readonly #catalogs: CatalogZones;
  readonly #consumers: CatalogConsumers;
  readonly #edges: EdgeRows;

  private constructor(store: Store, opts: ControlPlaneOptions) {
    this.#events = new ChangeEvents(store);
    this.#ctx = new PlaneContext(store, opts, this.#events);
    this.#tokens = new Tokens(this.#ctx);
    this.#accounts = new Accounts(this.#ctx);
    this.#zones = new Zones(this.#ctx);
    this.#history = new History(this.#ctx);
    this.#retention = new Retention(this.#ctx, () => this.#zones.collect());
    this.#deleted = new DeletedZones(this.#ctx, this.#retention, this.#zones);
    this.#serving = new Serving(this.#ctx, (id, version) => this.#zones.servedText(id, version));
    this.#shields = new ZoneShields(this.#ctx, opts.shield);
    this.#tsig = new TsigKeys(this.#ctx);
    this.#secondaries = new Secondaries(this.#ctx);
    this.#zones.secondaries = this.#secondaries;
    this.#catalogs = new CatalogZones(this.#ctx, this.#zones);
    this.#zones.catalogs = this.#catalogs;
    this.#consumers = new CatalogConsumers(this.#ctx, this.#zones);
    this.#edges = new EdgeRows(this.#ctx);
    this.#updates = new DnsUpdates(this.#ctx, this.#zones);
  }

  /** Opens the store (migrating it) and, with PostgreSQL, starts listening for changes. */
  static async open(opts: ControlPlaneOptions): Promise<StoreControlPlane> {
    const store = await openStore({ dataDir: opts.dataDir, database: opts.database });
    const plane = new StoreControlPlane(store, opts);
    try {
      await plane.#events.start();
    } catch (err) {
      await store.close();
      throw err;
    }
    return plane;
  }

  /** The store's dialect (for logs and tests). */
  get dialect(): 'sqlite' | 'postgres' {
    return this.#ctx.store.dialect;
  }

  /** The PostgreSQL change feed, when there is one (tests drop its connection). */
  get changeFeed(): ChangeFeed | undefined {
    return this.#events.feed;
  }

  onZoneChange(listener: (ev: ZoneChangeEvent) => void): () => void {
    return this.#events.onZoneChange(listener);
  }

  // ---- tokens and authentication ----

  authenticate(...a: Args<'authenticate'>) {
    return this.#tokens.authenticate(...a);
  }
  createToken(...a: Args<'createToken'>) {
    return this.#tokens.createToken(...a);
  }
  listTokens(...a: Args<'listTokens'>) {
    return this.#tokens.listTokens(...a);
  }
  revokeToken(...a: Args<'revokeToken'>) {
    return this.#tokens.revokeToken(...a);
  }
  bootstrapAdmin(...a: Args<'bootstrapAdmin'>) {
    return this.#tokens.bootstrapAdmin(...a);
  }
  systemPrincipal() {
    return this.#tokens.systemPrincipal();
  }

  // ---- accounts and users ----

  createAccount(...a: Args<'createAccount'>) {
    return this.#accounts.createAccount(...a);
  }
  listAccounts(...a: Args<'listAccounts'>) {
    return this.#accounts.listAccounts(...a);
  }
  getAccount(...a: Args<'getAccount'>) {
    return this.#accounts.getAccount(...a);
  }
  createUser(...a: Args<'createUser'>) {
    return this.#accounts.createUser(...a);
  }

  // ---- zones ----

  listZones(...a: Args<'listZones'>) {
    return this.#zones.listZones(...a);
  }
  createZone(...a: Args<'createZone'>) {
    return this.#zones.createZone(...a);
  }
  checkNewZone(...a: Args<'checkNewZone'>) {
    return this.#zones.checkNewZone(...a);
  }
  getZone(...a: Args<'getZone'>) {
    return this.#zones.getZone(...a);
  }
  deleteZone(...a: Args<'deleteZone'>) {
    return this.#zones.deleteZone(...a);
  }
  changeRRsets(...a: Args<'changeRRsets'>) {
    return this.#zones.changeRRsets(...a);
  }
  decodeBody(...a: Args<'decodeBody'>) {
    return this.#zones.decodeBody(...a);
  }
  importZone(...a: Args<'importZone'>) {
    return this.#zones.importZone(...a);
  }
  rollback(...a: Args<'rollback'>) {
    return this.#zones.rollback(...a);
  }
  updateZoneMetadata(...a: Args<'updateZoneMetadata'>) {
    return this.#zones.updateZoneMetadata(...a);
  }
  exportZone(...a: Args<'exportZone'>) {
    return this.#zones.exportZone(...a);
  }

  // ---- per-zone shield settings ----

  getZoneShield(...a: Args<'getZoneShield'>) {
    return this.#shields.getZoneShield(...a);
  }
  setZoneShield(...a: Args<'setZoneShield'>) {
    return this.#shields.setZoneShield(...a);
  }
  deleteZoneShield(...a: Args<'deleteZoneShield'>) {
    return this.#shields.deleteZoneShield(...a);
  }
  shieldZones() {
    return this.#shields.shieldZones();
  }
  onSettingsChange(listener: (change: ZoneSettingsChange) => void): () => void {
    return this.#events.onSettingsChange(listener);
  }

  onShieldChange(listener: () => void): () => void {
    return this.#events.onShieldChange(listener);
  }

  // ---- TSIG keys and who may transfer a zone ----

  listTsigKeys(...a: Args<'listTsigKeys'>) {
    return this.#tsig.listTsigKeys(...a);
  }
  getTsigKey(...a: Args<'getTsigKey'>) {
    return this.#tsig.getTsigKey(...a);
  }
  createTsigKey(...a: Args<'createTsigKey'>) {
    return this.#tsig.createTsigKey(...a);
  }
  updateTsigKey(...a: Args<'updateTsigKey'>) {
    return this.#tsig.updateTsigKey(...a);
  }
  deleteTsigKey(...a: Args<'deleteTsigKey'>) {
    return this.#tsig.deleteTsigKey(...a);
  }
  getZoneTransfer(...a: Args<'getZoneTransfer'>) {
    return this.#tsig.getZoneTransfer(...a);
  }
  setZoneTransfer(...a: Args<'setZoneTransfer'>) {
    return this.#tsig.setZoneTransfer(...a);
  }

  notifyZone(...a: Args<'notifyZone'>) {
    return this.#tsig.notifyZone(...a);
  }
  transferZones() {
    return this.#tsig.transferZones();
  }

  // ---- catalog zones (RFC 9432; control/catalog-zones.ts) ----

  // ---- the edge registry (control/edges.ts; docs/EDGE.md) ----

  writeEdges(edges: readonly StoredEdge[]) {
    return this.#edges.writeEdges(edges);
  }
  readEdges() {
    return this.#edges.readEdges();
  }

  ensureFleetCatalog(name: string) {
    return this.#catalogs.ensureFleetCatalog(name);
  }
  catalogSnapshot() {
    return this.#catalogs.catalogSnapshot();
  }
  catalogPtrs(name: string) {
    return this.#catalogs.catalogPtrs(name);
  }
  catalogGroups(p: Principal, zone: string) {
    return this.#catalogs.catalogGroups(p, zone);
  }
  setCatalogGroups(p: Principal, zone: string, groups: unknown) {
    return this.#catalogs.setCatalogGroups(p, zone, groups);
  }
  catalogZonesNamed(names: readonly string[]) {
    return this.#catalogs.catalogZonesNamed(names);
  }
  writeCatalog(catalog: string, changes: readonly CatalogChange[]) {
    return this.#catalogs.writeCatalog(catalog, changes);
  }
  consumerZones() {
    return this.#consumers.consumerZones();
  }
  syncConsumer(name: string) {
    return this.#consumers.syncConsumer(name);
  }

  // ---- secondary zones ----

  getZoneSecondary(...a: Args<'getZoneSecondary'>) {
    return this.#secondaries.getZoneSecondary(...a);
  }
  setZoneSecondary(...a: Args<'setZoneSecondary'>) {
    return this.#secondaries.setZoneSecondary(...a);
  }
  requestSecondaryRefresh(...a: Args<'requestSecondaryRefresh'>) {
    return this.#secondaries.requestSecondaryRefresh(...a);
  }
  onSecondaryRefresh(...a: Args<'onSecondaryRefresh'>) {
    return this.#secondaries.onSecondaryRefresh(...a);
  }
  secondaryZones() {
    return this.#secondaries.secondaryZones();
  }
  recordSecondaryCheck(...a: Args<'recordSecondaryCheck'>) {
    return this.#secondaries.recordSecondaryCheck(...a);
  }
  transferIn(...a: Args<'transferIn'>) {
    return this.#zones.transferIn(...a);
  }
  transferInSteps(...a: Parameters<NonNullable<ControlPlane['transferInSteps']>>) {
    return this.#zones.transferInSteps(...a);
  }

  // ---- dynamic update (RFC 2136) ----

  getZoneUpdatePolicy(...a: Args<'getZoneUpdatePolicy'>) {
    return this.#updates.getZoneUpdatePolicy(...a);
  }
  setZoneUpdatePolicy(...a: Args<'setZoneUpdatePolicy'>) {
    return this.#updates.setZoneUpdatePolicy(...a);
  }
  zoneAccountKeys(...a: Args<'zoneAccountKeys'>) {
    return this.#updates.zoneAccountKeys(...a);
  }
  dnsUpdate(...a: Args<'dnsUpdate'>) {
    return this.#updates.dnsUpdate(...a);
  }

  // ---- versions and audit ----

  listVersions(...a: Args<'listVersions'>) {
    return this.#history.listVersions(...a);
  }
  getVersion(...a: Args<'getVersion'>) {
    return this.#history.getVersion(...a);
  }
  listAudit(...a: Args<'listAudit'>) {
    return this.#history.listAudit(...a);
  }

  // ---- deleted zones and retention ----

  listDeletedZones(...a: Args<'listDeletedZones'>) {
    return this.#deleted.listDeletedZones(...a);
  }
  getDeletedZone(...a: Args<'getDeletedZone'>) {
    return this.#deleted.getDeletedZone(...a);
  }
  listDeletedVersions(...a: Args<'listDeletedVersions'>) {
    return this.#deleted.listDeletedVersions(...a);
  }
  getDeletedVersion(...a: Args<'getDeletedVersion'>) {
    return this.#deleted.getDeletedVersion(...a);
  }
  restoreZone(...a: Args<'restoreZone'>) {
    return this.#deleted.restoreZone(...a);
  }
  pruneHistory(...a: Args<'pruneHistory'>) {
    return this.#retention.pruneHistory(...a);
  }

  // ---- serving ----

  servedZones() {
    return this.#serving.servedZones();
  }
  servedZone(...a: Args<'servedZone'>) {
    return this.#serving.servedZone(...a);
  }
  servedHistory(maxVersions: number) {
    return this.#serving.servedHistory(maxVersions);
  }
  servedChanges(...a: Args<'servedChanges'>) {
    return this.#serving.servedChanges(...a);
  }
  isEmpty() {
    return this.#serving.isEmpty();
  }

  async close(): Promise<void> {
    if (!this.#ctx.markClosed()) return;
    this.#events.clear();
    await this.#zones.close();
    await this.#ctx.store.close();
  }
}
