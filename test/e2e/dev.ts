// A throw-away cluster for trying things by hand: control plane + node agent until Ctrl-C.
//   npm run build && npx tsx test/e2e/dev.ts
// Prints the kubeconfig path; use the cached kubectl/helm with it (see test/e2e/README.md).
import { E2ECluster, prepareE2E } from './support/cluster.js';

const skip = prepareE2E();
if (skip) {
  process.stderr.write(`cannot start: ${skip}\n`);
  process.exit(1);
}
const cluster = await E2ECluster.start('dev');
process.env.RMQ_E2E_KEEP = '1';
process.stdout.write(`cluster ready\n  export KUBECONFIG=${cluster.kubeconfigPath}\n  export PATH=${cluster.bin}:$PATH\n  logs: ${cluster.dir}\nCtrl-C stops it.\n`);
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void cluster.stop().then(() => process.exit(0));
  });
}
