// The start the server entry points (rmq-broker, rmq-namesrv) share: flags, -h, the -c file.
import { parseCliArgs, readConfigFile, type CliArgs } from './common.js';

export interface ServerArgs {
  args: CliArgs;
  /** The -c file's key=value pairs; empty without -c. */
  raw: Map<string, string>;
}

/** The process's flags and its -c file; undefined when -h asked for `usage`, which is printed. */
export function readServerArgs(usage: string): ServerArgs | undefined {
  const args = parseCliArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return undefined;
  }
  const raw = args.configFile ? readConfigFile(args.configFile) : new Map<string, string>();
  return { args, raw };
}
