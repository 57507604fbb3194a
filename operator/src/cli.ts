#!/usr/bin/env node
// Entry of `rmq operator` (broker/src/cli/rmq.ts) and of `node dist/operator/src/cli.js`.
import { fail } from '../../broker/src/cli/common.js';
import { main } from './main.js';

main().catch(fail);
