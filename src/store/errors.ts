/**
 * Typed errors of the store. The control plane maps them to its own codes (a unique
 * violation becomes CTL_ERR_CONFLICT); everything else is an internal failure.
 * @module
 */

/** Stable codes: part of the API, do not rename. */
export type StoreErrorCode =
  | 'STORE_ERR_OPEN' // the database could not be opened or reached
  | 'STORE_ERR_MIGRATION' // a migration failed, or the schema is newer than this program
  | 'STORE_ERR_UNIQUE' // a unique constraint was violated (a name already taken)
  | 'STORE_ERR_CLOSED'; // the store was used after close()

/** A store failure. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** True when `err` is a unique-constraint violation of SQLite or PostgreSQL. */
export function isUniqueViolation(err: unknown): boolean {
  if (err instanceof StoreError) return err.code === 'STORE_ERR_UNIQUE';
  const code = (err as { code?: unknown } | null)?.code;
  // better-sqlite3 codes; PostgreSQL SQLSTATE 23505 unique_violation.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** True for failures that a retry of the whole transaction resolves. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected. SQLite: a transaction that
  // read before another connection (the zone-work thread's) committed cannot then write
  // (SQLITE_BUSY_SNAPSHOT; the busy timeout does not apply), nor one that found it busy.
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_BUSY';
}
