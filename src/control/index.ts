/**
 * The control plane: the domain of zones, records, versions, accounts and tokens over the
 * store. The only import surface of src/control.
 * @module
 */
import { StoreControlPlane } from './plane.js';
import type { ControlPlane, ControlPlaneOptions } from './types.js';

export { DEFAULT_ACCOUNT, StoreControlPlane, ZONE_CHANGE_CHANNEL } from './plane.js';
export { quoted } from './records.js';
export { nextSerial, serialGreater } from './serial.js';
export * from './types.js';

/**
 * Opens the control plane: the SQLite store under `dataDir` (or PostgreSQL at `database`),
 * migrated to the current schema, listening for other replicas' changes with PostgreSQL.
 */
export async function openControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  return StoreControlPlane.open(opts);
}
