#!/usr/bin/env node
// `rmq admin <command> [options]` / `rmq-admin`: mqadmin's commands for people without Java.
//   rmq admin updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t T -r 4 -w 4
// -n defaults to NAMESRV_ADDR, as with mqadmin. Exit code 0 ok, 1 failed, 2 bad usage.
import { runAdmin } from '../admin/commands.js';

// `rmq admin brokerStatus ... | head`: a closed stdout ends the command quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const code = await runAdmin(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}, { namesrvAddr: process.env.NAMESRV_ADDR });
process.exitCode = code;
