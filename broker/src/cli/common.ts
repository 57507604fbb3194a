// Shared pieces of the command-line entry points: argument parsing and signal handling.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';
import { parseProperties } from '../config/properties.js';

export interface CliArgs {
  configFile?: string;
  namesrvAddr?: string;
  printConfig: boolean;
  help: boolean;
}

/** Parses the flags the Java startup classes take: -c file, -n addr, -p, -h. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { printConfig: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new ConfigError(`option ${a} needs a value`);
      return v;
    };
    if (a === '-c' || a === '--configFile') out.configFile = value();
    else if (a === '-n' || a === '--namesrvAddr') out.namesrvAddr = value();
    else if (a === '-p' || a === '--printConfigItem') out.printConfig = true;
    else if (a === '-h' || a === '--help') out.help = true;
    else throw new ConfigError(`unknown option ${a} (try -h)`);
  }
  return out;
}

export function readConfigFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseProperties(text);
}

/**
 * Runs `stop` on SIGINT/SIGTERM and exits 0 when it finishes; exits 1 if it takes longer than
 * `timeoutMs` or if a second signal arrives.
 */
export function stopOnSignals(stop: () => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    const timer = setTimeout(() => {
      process.stderr.write(`shutdown did not finish within ${timeoutMs} ms, exiting\n`);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

/** Prints a configuration error the way a user can act on it, and exits 1. */
export function fail(err: unknown): never {
  if (err instanceof ConfigError) process.stderr.write(`configuration error:\n${err.message}\n`);
  else process.stderr.write(`startup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
