// berthd: read flags, start the daemon, stop it cleanly on SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { AddonNative } from './native/addon';
import { Daemon } from './server';
import { log } from './util/logger';

const USAGE = `usage: berthd [--root DIR] [--listen unix:///PATH] [--cgroup-parent NAME] [--bridge-name NAME] [--bridge-subnet CIDR]

  --root DIR            data root (default /var/lib/berth)
  --listen ADDR         where to serve gRPC (default unix:///run/berth/berth.sock)
  --cgroup-parent NAME  the cgroup that holds the containers, in each hierarchy (default berth);
                        each data root needs its own
  --bridge-name NAME    the bridge containers attach to (default berth0); made at start if missing
  --bridge-subnet CIDR  its subnet (default 10.88.0.0/16); the first address is the gateway`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        root: { type: 'string', default: '/var/lib/berth' },
        listen: { type: 'string', default: 'unix:///run/berth/berth.sock' },
        'cgroup-parent': { type: 'string', default: 'berth' },
        'bridge-name': { type: 'string', default: 'berth0' },
        'bridge-subnet': { type: 'string', default: '10.88.0.0/16' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) { process.stdout.write(`${USAGE}\n`); return; }
  if (process.getuid?.() !== 0) {
    process.stderr.write('berthd: must run as root (it creates namespaces and mounts)\n');
    process.exit(1);
  }
  const daemon = new Daemon({ root: values.root!, listen: values.listen!, native: new AddonNative(), cgroupParent: values['cgroup-parent'],
    bridgeName: values['bridge-name'], bridgeSubnet: values['bridge-subnet'] });
  try {
    await daemon.start();
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down; containers keep running', { signal });
    daemon.stop().then(() => process.exit(0), (err) => { log.error('shutdown failed', { error: String(err) }); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
