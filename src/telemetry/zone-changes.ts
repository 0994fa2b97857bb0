/**
 * Counting committed zone changes without touching the control plane: a proxy over it whose
 * zone-writing methods report their kind when their promise resolves (the control plane
 * resolves only after the transaction committed; a rejected call changed nothing).
 * @module
 */

/** The kinds of zone change counted, by the control-plane method that makes them. */
export const ZONE_CHANGE_METHODS = {
  createZone: 'create',
  changeRRsets: 'change',
  importZone: 'import',
  rollback: 'rollback',
  deleteZone: 'delete',
  restoreZone: 'restore',
  // DNS UPDATE (RFC 2136): counted when it wrote a version (`changed`).
  dnsUpdate: 'update',
} as const;

/** A kind of zone change: create, change, import, rollback, delete or restore. */
export type ZoneChangeKind = (typeof ZONE_CHANGE_METHODS)[keyof typeof ZONE_CHANGE_METHODS];

/** Every kind, for pre-declaring label values. */
export const ZONE_CHANGE_KINDS: readonly ZoneChangeKind[] = Object.values(ZONE_CHANGE_METHODS);

type AnyMethod = (...args: unknown[]) => unknown;

/**
 * A change's answer that says nothing was written: `changed: false` (the change changed
 * nothing) or `dryRun: true` (a plan, not applied). Neither is a committed change.
 */
function wroteNothing(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const r = v as { changed?: unknown; dryRun?: unknown };
  return r.changed === false || r.dryRun === true;
}

/**
 * Returns `target` with its zone-writing methods (ZONE_CHANGE_METHODS) counted: `onCommit`
 * gets the change's kind once the call's promise resolves. Every other member is the target's
 * own, methods bound to it (so classes with private fields keep working behind the proxy).
 */
export function countZoneChanges<T extends object>(target: T, onCommit: (kind: ZoneChangeKind) => void): T {
  const wrapped = new Map<PropertyKey, AnyMethod>();
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(prop);
      if (fn !== undefined) return fn;
      const method = value as AnyMethod;
      const kind = Object.hasOwn(ZONE_CHANGE_METHODS, prop)
        ? ZONE_CHANGE_METHODS[prop as keyof typeof ZONE_CHANGE_METHODS]
        : undefined;
      fn =
        kind === undefined
          ? method.bind(t)
          : (...args: unknown[]) => {
              const result = method.apply(t, args);
              if (result instanceof Promise)
                return result.then((v) => {
                  if (!wroteNothing(v)) onCommit(kind);
                  return v;
                });
              onCommit(kind);
              return result;
            };
      wrapped.set(prop, fn);
      return fn;
    },
  });
}
