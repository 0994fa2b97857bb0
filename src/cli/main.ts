#!/usr/bin/env node
/**
 * The `switchboard` command line: `serve` runs the authoritative server, `check-zone`
 * checks a zone file. Thin over src/server and src/cli/check-zone.ts.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { buildServeConfig, ConfigError, DEFAULT_LISTEN, type ServeOptionsInput } from '../server/config.js';
import { runPrimary } from '../server/primary.js';
import { runSingleProcess } from '../server/single.js';

/** The package version, read from package.json next to dist/ (unknown when not found). */
function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Builds the command tree. */
function buildProgram(): Command {
  const program = new Command();
  program
    .name('switchboard')
    .description('Authoritative DNS server that keeps answering through a DDoS')
    .version(readVersion());

  program
    .command('serve')
    .description('serve every *.zone file of a folder over UDP and TCP')
    .requiredOption('--zone-dir <dir>', 'folder of zone files, one zone per *.zone file')
    .option(
      '--listen <addr>',
      `address to serve on: ADDR, ADDR:PORT, [IPv6]:PORT (repeatable; default ${DEFAULT_LISTEN})`,
      collect,
    )
    .option('--workers <n>', 'worker processes (default: number of CPUs; 0 = serve from one process)')
    .option('--nsid <text>', 'RFC 5001 name server identifier returned to clients that ask')
    .option('--edns-size <n>', 'EDNS UDP payload size advertised and used as the UDP response cap')
    .option('--tcp-idle-timeout <ms>', 'close TCP connections idle this long (default 10000)')
    .option('--tcp-max-connections <n>', 'open TCP connections allowed per worker (default 1000)')
    .option(
      '--tcp-max-per-client <n>',
      'open TCP connections allowed per client address per worker (default 32)',
    )
    .action(async (opts: ServeOptionsInput) => {
      let code: number;
      try {
        const config = buildServeConfig(opts);
        code = config.workers === 0 ? await runSingleProcess(config) : await runPrimary(config);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`switchboard: error: ${err.message}\n`);
        code = 1;
      }
      process.exit(code);
    });

  program
    .command('check-zone')
    .description('parse and check a zone file; exit 0 when it would load')
    .argument('<file>', 'zone file')
    .option('--origin <name>', 'zone origin (default: $ORIGIN, or the file name minus .zone)')
    .option('--print', 'print the zone in canonical form')
    .action(async (file: string, opts: { origin?: string; print?: boolean }) => {
      // Loaded on demand so `serve` does not depend on the checker's module.
      const { checkZoneCommand } = await import('./check-zone.js');
      process.exitCode = await checkZoneCommand(file, { origin: opts.origin, print: opts.print });
    });

  return program;
}

await buildProgram().parseAsync(process.argv);
