// berthd: read flags, start the daemon, stop it cleanly on SIGTERM or SIGINT.
import './threadpool'; // first: it sizes libuv's thread pool before any use
import path from 'node:path';
import { parseArgs } from 'node:util';
import { enableFavorDynMods } from './cgroups/favor';
import { loadTls, type TlsMaterial } from './endpoint';
import { resolveGroup } from './listen';
import { AddonNative } from './native/addon';
import { Daemon, listenEndpoints } from './server';
import { log } from './util/logger';

const USAGE = `usage: berthd [--root DIR] [--listen ADDR]... [--group NAME|GID] [--tlscacert FILE --tlscert FILE --tlskey FILE]
              [--cgroup-parent NAME] [--cgroup-favordynmods] [--bridge-name NAME] [--bridge-subnet CIDR]

  --root DIR            data root (default /var/lib/berth)
  --listen ADDR         where to serve gRPC, repeatable (default unix:///run/berth/berth.sock):
                        unix:///PATH, a socket of mode 0600 owned by root (its directory is made 0711
                        if missing), or tcp://HOST:PORT, served only with the three TLS flags
  --group NAME|GID      unix sockets become mode 0660 with this group: its members may use berthd
  --tlscacert FILE      mutual TLS for tcp:// addresses: the CA that must sign every client's certificate,
  --tlscert FILE        the daemon's certificate chain,
  --tlskey FILE         and its key (all three together)
  --cgroup-parent NAME  the cgroup that holds the containers, in each hierarchy (default berth);
                        each data root needs its own
  --cgroup-favordynmods turn on the cgroup2 mount's favordynmods: moving a process into a cgroup
                        then skips an RCU grace period (up to 20 ms of a start), fork and exit pay a
                        little; host-wide, and it stays after berthd exits
  --bridge-name NAME    the bridge containers attach to (default berth0); made at start if missing
  --bridge-subnet CIDR  its subnet (default 10.88.0.0/16); the first address is the gateway`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        root: { type: 'string', default: '/var/lib/berth' },
        listen: { type: 'string', multiple: true, default: ['unix:///run/berth/berth.sock'] },
        group: { type: 'string' },
        tlscacert: { type: 'string' },
        tlscert: { type: 'string' },
        tlskey: { type: 'string' },
        'cgroup-parent': { type: 'string', default: 'berth' },
        'cgroup-favordynmods': { type: 'boolean', default: false },
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
  // Every flag is checked before the daemon touches anything.
  let socketGid: number | undefined;
  let tls: TlsMaterial | undefined;
  try {
    tls = loadTls({ ca: values.tlscacert, cert: values.tlscert, key: values.tlskey }, { ca: '--tlscacert', cert: '--tlscert', key: '--tlskey' });
    listenEndpoints(values.listen!, tls);
    if (values.group !== undefined) socketGid = resolveGroup(values.group);
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const native = new AddonNative();
  if (values['cgroup-favordynmods']) {
    try {
      if (enableFavorDynMods(native)) log.info('cgroup2 remounted with favordynmods');
    } catch (err) {
      process.stderr.write(`berthd: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  // A relative --root is taken from where berthd was started; from here on it works from /, so that directory
  // may go away (the overlay mount steps into the data root and back, which needs a working directory that exists).
  const root = path.resolve(values.root!);
  process.chdir('/');
  const daemon = new Daemon({ root, listen: values.listen!, socketGid, tls, native, cgroupParent: values['cgroup-parent'],
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
