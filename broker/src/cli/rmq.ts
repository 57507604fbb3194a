#!/usr/bin/env node
// One entry point for the container image: `rmq namesrv|broker|admin|operator|dev [options]`.
const COMMANDS: Record<string, string> = { namesrv: './namesrv.js', broker: './broker.js', dev: './dev.js', admin: './admin.js', operator: '../../../operator/src/cli.js' };

const [command, ...rest] = process.argv.slice(2);
const target = command ? COMMANDS[command] : undefined;
if (!target) {
  process.stderr.write(`usage: rmq <${Object.keys(COMMANDS).join('|')}> [options]   (rmq broker -h for broker options, rmq admin for admin commands)\n`);
  process.exit(command === '-h' || command === '--help' ? 0 : 2);
}
// The sub-command reads its options from process.argv like when started directly.
process.argv = [process.argv[0]!, process.argv[1]!, ...rest];
await import(target);
