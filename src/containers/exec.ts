// Exec: another process inside a running container's namespaces, started by the container's monitor
// (so it is never a child of berthd and never carries berthd's fds, cwd or binary into the container).
import { EngineError, invalidArgument } from '../errors';
import { buildExecSpec } from '../runtime/plan';
import { execFailure, stepFailure } from '../tasks/manager';
import { MonitorStream } from '../tasks/monitor-stream';
import { randomId } from '../util/ids';
import type { AttachEvent, StdioSession } from './attachment';
import type { ContainerService } from './service';
import { noNul, validateEnv, validateUser, validateWorkingDir } from './validate';

export interface ExecRequest {
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
  tty: boolean;
  stdin: boolean;
  size?: { rows: number; cols: number };
  /** Every capability for this process (docker exec --privileged). */
  privileged?: boolean;
}

export interface StartedExec {
  execId: string;
  pid: number;
  session: StdioSession;
}

/** An exec's stdio: its stream ends with its exit; closing stdin always closes the process's stdin. */
class ExecSession implements StdioSession {
  private closed = false;

  constructor(private readonly stream: MonitorStream, private readonly onExit: (exitCode: number) => void) {}

  async *events(): AsyncGenerator<AttachEvent> {
    for await (const f of this.stream.read(true)) {
      if (f.type === 'stdout' || f.type === 'stderr') yield { type: f.type, data: f.data };
      else if (f.type === 'exit') {
        this.onExit(f.exitCode);
        yield { type: 'exit', exitCode: f.exitCode, signal: f.signal };
        return;
      }
    }
    if (this.closed) return;
    throw new EngineError('ResourceExhausted', 'exec: this client read too slowly and was dropped; the process goes on');
  }

  async writeStdin(data: Uint8Array): Promise<void> {
    if (!this.stream.writeStdin(data)) await this.stream.drain();
  }

  closeStdin(): void { this.stream.closeStdin(); }
  resize(rows: number, cols: number): void { this.stream.resize(rows, cols); }
  signal(signal: number): void { this.stream.signal(signal); }

  close(): void {
    this.closed = true;
    this.stream.close();
  }
}


export async function startExec(containers: ContainerService, ref: string, req: ExecRequest): Promise<StartedExec> {
  // The request's own fields first: a bad exec is refused whatever the container's state.
  if (req.cmd.length === 0 || req.cmd[0] === '') throw invalidArgument('options.cmd', req.cmd, 'a command is required');
  noNul('options.cmd', req.cmd);
  validateEnv(req.env, 'options.env');
  validateUser(req.user, 'options.user');
  validateWorkingDir(req.workingDir, 'options.working_dir');
  const c = containers.find(ref, 'options.container_id');
  if (c.state.status !== 'running' || !containers.tasks.isLive(c.id)) {
    throw new EngineError('FailedPrecondition', `exec in container ${c.id}: status is ${c.state.status}`);
  }
  const user = await containers.resolveUserIn(c, req.user || c.config.user, 'options.user');
  const cgroupProcs = containers.cgroups.open(c.id).procsFiles();
  const spec = buildExecSpec(c, {
    cmd: req.cmd, env: req.env, workingDir: req.workingDir, tty: req.tty, stdin: req.stdin, consoleSize: req.size, user, cgroupProcs,
    privileged: req.privileged,
  });
  const { stream, answer } = await MonitorStream.open(containers.files(c.id), `exec ${JSON.stringify(spec)}`);
  if (!stream) {
    const doing = `exec in container ${c.id}`;
    if (answer.type === 'failed' && answer.step === 'exec') throw execFailure(doing, req.cmd[0], answer);
    if (answer.type === 'exit') throw new EngineError('FailedPrecondition', `${doing}: the container exited`);
    if (answer.type === 'failed' && answer.message) throw stepFailure(doing, answer);
    throw new EngineError('Internal', `${doing}: ${answer.message ?? JSON.stringify(answer)}`);
  }
  const execId = randomId();
  const pid = answer.pid ?? 0;
  const attrs = { execID: execId, command: req.cmd.join(' ') };
  containers.emit(c, 'exec_start', attrs);
  return { execId, pid, session: new ExecSession(stream, (exitCode) => containers.emit(c, 'exec_die', { ...attrs, exitCode: String(exitCode) })) };
}
