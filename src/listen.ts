// berthd's listeners: a unix socket that is root-only (or root and one group) from the instant it can be
// reached, and TCP only with mutual TLS.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { grpcTarget, type Endpoint, type TlsMaterial } from './endpoint';
import { EngineError } from './errors';
import { log } from './util/logger';

/**
 * What a unix connection may hold unsent. At the default (208 KiB) an attach streaming output at hundreds of
 * MiB/s made berthd and its client wait on each other every few hundred KiB (bench/README.md, "The ninth round").
 */
const UNIX_SEND_BUFFER = 4 * 1024 * 1024;

/** A group given as a number is taken as the gid; a name is looked up in groupFile. */
export function resolveGroup(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  const text = fs.readFileSync(groupFile, 'utf8');
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new EngineError('InvalidArgument', `--group ${JSON.stringify(group)}: no such group in ${groupFile}`);
}

/**
 * The socket's directory: made 0711 when missing, so a member of --group can reach a socket inside
 * without being able to list the directory. An existing one is left as it is, but must be ours and not
 * writable by others (unless sticky, as /tmp): whoever can rename entries there can swap the socket.
 */
async function prepareSocketDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o711 });
  const st = await fsp.stat(dir);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid) throw new EngineError('PermissionDenied', `socket directory ${dir}: owned by uid ${st.uid}, not ${uid}`);
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw new EngineError('PermissionDenied', `socket directory ${dir}: writable by group or others (mode ${(st.mode & 0o7777).toString(8)}), so the socket could be replaced`);
  }
}

/**
 * Binds a unix socket at sockPath, mode 0600 owned by us, or 0660 with group gid. It is bound in a fresh
 * 0700 directory beside sockPath, given its owner and mode there, and only then renamed into place: no
 * one else can connect to it before it has its final mode, and no process-wide umask is changed while
 * other work runs. The rename also replaces a socket a dead daemon left (we hold the root's lock).
 * The private directory's name is short (".bXXXXXX/s") because a socket path has at most 107 bytes.
 *
 * berthd accepts on it itself and hands each connection to grpc-js (a connection injector), having first let
 * the connection's socket hold more unsent (widenSendBuffer, the addon's). Returns the listener, which the
 * daemon closes when it stops (grpc-js's shutdown ends the connections).
 */
export async function bindUnix(server: grpc.Server, sockPath: string, gid: number | undefined, widenSendBuffer: (fd: number, bytes: number) => number): Promise<net.Server> {
  const dir = path.dirname(sockPath);
  await prepareSocketDir(dir);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = net.createServer((socket) => {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    try {
      if (fd !== undefined && fd >= 0) widenSendBuffer(fd, UNIX_SEND_BUFFER);
    } catch (err) {
      log.warn('a connection keeps its default send buffer', { error: String(err) }); // it only streams slower
    }
    injector.injectConnection(socket);
  });
  // After the listen: a failed accept (out of file descriptors) must not take the daemon down.
  const onError = (err: Error) => log.warn('accepting a connection failed', { socket: sockPath, error: String(err) });
  const privateDir = await fsp.mkdtemp(path.join(dir, '.b'));
  try {
    const bound = path.join(privateDir, 's');
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(bound, () => { listener.off('error', reject); listener.on('error', onError); resolve(); });
    });
    if (gid !== undefined) await fsp.chown(bound, process.getuid?.() ?? 0, gid);
    await fsp.chmod(bound, gid !== undefined ? 0o660 : 0o600);
    await fsp.rename(bound, sockPath);
  } catch (err) {
    listener.close();
    injector.destroy();
    throw err;
  } finally {
    // When the listener closes, libuv unlinks the path it bound (now gone): harmless.
    await fsp.rm(privateDir, { recursive: true, force: true });
  }
  return listener;
}

/** Binds host:port with mutual TLS: a client must present a certificate signed by tls.ca, or its handshake fails. */
export async function bindTcp(server: grpc.Server, endpoint: Endpoint & { kind: 'tcp' }, tls: TlsMaterial): Promise<void> {
  const creds = grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
  await bindAsync(server, grpcTarget(endpoint), creds);
}

function bindAsync(server: grpc.Server, target: string, creds: grpc.ServerCredentials): Promise<void> {
  return new Promise((resolve, reject) => server.bindAsync(target, creds, (err) => (err ? reject(err) : resolve())));
}
