/**
 * A script for test/e2e/signal-cleanup.test.ts (not a test itself): starts what the test helpers
 * start — `switchboard start` (2 DNS workers), `switchboard serve` as a peer, and a PostgreSQL
 * cluster when PostgreSQL is installed (pg_ctl daemonizes it: it is no descendant of ours) —
 * prints one JSON line `{ "ready": true, "pids": [...], "dirs": [...], "pgPort": N }` and
 * then waits to be signalled. It stops by itself after `--max-seconds` (default 120).
 * Usage: node dist/test/helpers/hold-children.js [--no-postgres] [--max-seconds S]
 * @module
 */
import { exampleZones } from './paths.js';
import { listDescendants, startSwitchboard } from './peers.js';
import { startPlatform } from './platform.js';
import { postgresMissing, startPostgresCluster } from './postgres.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--max-seconds');
  const maxSeconds = i >= 0 ? Number(argv[i + 1]) : 120;
  const platform = await startPlatform({ workers: 2 });
  const peer = await startSwitchboard(exampleZones, { workers: 1 });
  let pgPort: number | undefined;
  if (!argv.includes('--no-postgres') && postgresMissing() === false) {
    const cluster = await startPostgresCluster();
    pgPort = Number(new URL(cluster.url).port);
  }
  const pids = [platform.pid, ...listDescendants(platform.pid), peer.pid, ...listDescendants(peer.pid)];
  const dirs = [platform.dataDir, peer.dir];
  console.log(JSON.stringify({ ready: true, pids, dirs, pgPort }));
  // Bounded: a test that forgets to signal us does not leave us running.
  setTimeout(() => process.exit(3), maxSeconds * 1000);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
