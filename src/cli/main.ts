// berth: the command-line client. Global flags, then a command; errors print one line and exit non-zero.
import type { ServiceError } from '@grpc/grpc-js';
import { loadTls } from '../endpoint';
import { parseFlags, UsageError } from './args';
import { connect, DEFAULT_HOST, type Clients } from './client';
import { CONTAINER_COMMANDS } from './containers';
import { EVENT_COMMANDS } from './events';
import { FILESYSTEM_COMMANDS } from './filesystem';
import { DISTRIBUTION_COMMANDS } from './distribution';
import { IMAGE_COMMANDS } from './images';
import { containerPrune, LIFECYCLE_COMMANDS } from './lifecycle';
import { NETWORK_COMMANDS } from './network';
import { STATS_COMMANDS } from './stats';
import { TOP_COMMANDS } from './top';
import { VOLUME_COMMANDS } from './volumes';

export type Command = (argv: string[], clients: Clients) => Promise<number>;

const CONTAINER_GROUP: Record<string, Command> = { ...CONTAINER_COMMANDS, ...LIFECYCLE_COMMANDS, ...STATS_COMMANDS, ...TOP_COMMANDS, ...FILESYSTEM_COMMANDS, ...NETWORK_COMMANDS };

/** docker's `container` group: the same commands under their group names, plus ls/list/remove and prune. */
const SUBCOMMANDS: Record<string, Command> = {
  ...CONTAINER_GROUP, ls: CONTAINER_GROUP.ps, list: CONTAINER_GROUP.ps, remove: CONTAINER_GROUP.rm, prune: containerPrune,
};

const container: Command = async (argv, clients) => {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : SUBCOMMANDS[name];
  if (!command) throw new UsageError(`berth container COMMAND, where COMMAND is one of: ${Object.keys(SUBCOMMANDS).sort().join(' ')}`);
  return command(rest, clients);
};

const COMMANDS: Record<string, Command> = { ...CONTAINER_GROUP, ...IMAGE_COMMANDS, ...DISTRIBUTION_COMMANDS, ...EVENT_COMMANDS, ...VOLUME_COMMANDS, container };

const USAGE = `usage: berth [--host unix:///PATH | --host tcp://HOST:PORT --tlscacert FILE --tlscert FILE --tlskey FILE] COMMAND [ARGS...]

Containers:  create  start  run  attach  exec  ps  logs  inspect  top  stats  wait
             stop  restart  kill  pause  unpause  rename  update  rm
             diff  export [-o FILE]  commit  cp CONTAINER:SRC DST|-  cp SRC|- CONTAINER:DST
             container ls|rm|prune|...   (docker's container group, the same commands)
Images:      import  images  tag  rmi  load  save  pull  push  history
Volumes:     volume create|ls|inspect|rm|prune   (run/create -v SRC:DST[:ro], -v /PATH, --volumes-from; rm -v)
System:      version  info  events

The daemon is found at --host, else $BERTH_HOST, else ${DEFAULT_HOST}. A tcp:// host needs
mutual TLS: --tlscacert (the CA that signed berthd's certificate), --tlscert and --tlskey (ours), else
$BERTH_TLS_CACERT, $BERTH_TLS_CERT and $BERTH_TLS_KEY.`;

/**
 * grpc-js gives TLS the host as its server name even when it is an IP address (the daemon's certificate
 * is still checked against that address); Node's deprecation warning about it (DEP0123) says nothing a
 * user of --host tcp://IP:PORT can act on, so it is the one warning dropped.
 */
function quietIpServerName(): void {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const code = typeof args[1] === 'object' ? (args[1] as { code?: string } | null)?.code : args[2];
    if (code !== 'DEP0123') emitWarning(...args);
  }) as typeof process.emitWarning;
}

async function main(argv: string[]): Promise<number> {
  const { flags, positionals } = parseFlags(argv, {
    host: { short: 'H', kind: 'string' }, tlscacert: { kind: 'string' }, tlscert: { kind: 'string' }, tlskey: { kind: 'string' }, help: { kind: 'bool' },
  });
  const [name, ...rest] = positionals;
  if (flags.help || !name || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name || flags.help ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; see berth --help`);
  const host = (flags.host as string | undefined) ?? process.env.BERTH_HOST ?? DEFAULT_HOST;
  // A flag wins over its variable, one file at a time.
  const tls = loadTls({
    ca: (flags.tlscacert as string | undefined) ?? process.env.BERTH_TLS_CACERT,
    cert: (flags.tlscert as string | undefined) ?? process.env.BERTH_TLS_CERT,
    key: (flags.tlskey as string | undefined) ?? process.env.BERTH_TLS_KEY,
  }, { ca: '--tlscacert', cert: '--tlscert', key: '--tlskey' });
  if (host.startsWith('tcp://')) quietIpServerName();
  const clients = connect(host, tls);
  try {
    return await command(rest, clients);
  } finally {
    clients.close();
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as ServiceError).code === 'number' && 'details' in err;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`berth: ${err.message}\n`);
      process.exitCode = 2;
    } else if (isServiceError(err)) {
      const text = err.code === 14 ? `cannot reach berthd: ${err.details}` : err.details;
      process.stderr.write(`berth: ${text}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
