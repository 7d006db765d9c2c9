// Daemon start: load every container and make its record true again. Monitors that still run are
// reattached (and a start berthd did not finish recording is rolled forward); exits that happened
// while berthd was away are recorded; removals a crash interrupted are finished; then restart
// policies and auto-remove take over as if berthd had never left (an auto-remove container that does
// not run is removed, started or not).
import { monitorDied } from '../tasks/manager';
import { processStartTime, sameProcess } from '../tasks/proc';
import { log } from '../util/logger';
import { isActive, type ContainerRecord } from './model';
import { restartsAtDaemonStart } from './restart-policy';
import type { ContainerService } from './service';

export async function loadContainers(svc: ContainerService): Promise<void> {
  svc.trash.open();
  svc.spreadContainerDirectories();
  // A standby rootfs a daemon left (it stopped abruptly) is no container's: it goes.
  await svc.standby.discardLeft();
  const { records, removals } = await svc.store.loadAll();
  for (const r of removals) await svc.cleanUpRemoved(r.id, r.dir);
  for (const c of records) {
    svc.containers.set(c.id, c);
    svc.names.set(c.name, c.id);
  }
  svc.openRuntimeDir();
  const wasRestarting = new Set(records.filter((c) => c.state.status === 'restarting').map((c) => c.id));
  const exitedWhileAway = new Set<string>();
  for (const c of records) if (await reconcile(svc, c)) exitedWhileAway.add(c.id);
  await removeStrayCgroups(svc);
  // After reconcile: exits seen while away released theirs; what a crash left behind goes now.
  await svc.network?.repair(new Set(records.filter((c) => svc.containers.has(c.id) && isActive(c.state.status)).map((c) => c.id)));
  for (const c of records) {
    if (!svc.containers.has(c.id) || exitedWhileAway.has(c.id)) continue; // onExit already applied the policy
    if (wasRestarting.has(c.id)) {
      svc.scheduleRestart(c, 0);
    } else if (c.hostConfig.autoRemove && !isActive(c.state.status)) {
      // Exited while berthd was away, or never started: as dockerd's restore, an auto-remove container that
      // does not run goes. Its create fsyncs nothing on that promise (ContainerStore.create).
      await svc.remove(c.id, false, true).catch((err) => log.warn('auto-remove at daemon start failed', { id: c.id, error: String(err) }));
    } else if (!isActive(c.state.status) && restartsAtDaemonStart(c.hostConfig.restartPolicy, c.state)) {
      c.state = { ...c.state, status: 'restarting' };
      await svc.store.saveState(c);
      svc.scheduleRestart(c, 0);
    }
  }
}

/** Brings one record in line with its monitor; true when this recorded an exit (policy and auto-remove done). */
async function reconcile(svc: ContainerService, c: ContainerRecord): Promise<boolean> {
  const found = await svc.tasks.recover(c.id, svc.files(c.id));
  if (found.state === 'live') {
    // The monitor answered on this container's socket, so its pids are the truth; a stored pid is kept
    // only while its start time still matches.
    const frozen = await svc.cgroups.open(c.id).isFrozen().catch(() => false);
    const status = frozen ? 'paused' : 'running';
    if (c.state.status !== status || c.state.pid !== found.pid || !sameProcess(found.pid, c.state.pidStartTime)) {
      // An auto-remove container's start is never recorded (ContainerService.launch): not worth a warning.
      if (!isActive(c.state.status) && !c.hostConfig.autoRemove) log.warn('a start berthd did not finish recording is rolled forward', { id: c.id });
      c.state = {
        ...c.state, status, pid: found.pid, monitorPid: found.monitorPid, pidStartTime: processStartTime(found.pid) ?? 0,
        ...(!isActive(c.state.status) && { startedAt: found.startedAt ?? new Date().toISOString(), finishedAt: '', exitCode: 0, signal: 0, error: '' }),
      };
      await svc.store.saveState(c);
    }
    return false;
  }
  if (found.state === 'exited' && (isActive(c.state.status) || unrecordedRun(c, found.status.finishedAt))) {
    await svc.onExit(c.id, found.status);
    return true;
  }
  if (found.state === 'gone' && isActive(c.state.status)) {
    await svc.onExit(c.id, monitorDied());
    return true;
  }
  await svc.unmountRootfs(c.id);
  return false;
}

/** An exit file newer than the record: a run that started and ended while berthd could not record it. */
function unrecordedRun(c: ContainerRecord, finishedAt: string): boolean {
  return finishedAt !== c.state.finishedAt && Date.parse(finishedAt) >= Date.parse(c.state.startedAt || '1970-01-01T00:00:00Z');
}

/** Cgroups of containers that are gone or not running: left by a crash in the middle of a start or an exit. */
async function removeStrayCgroups(svc: ContainerService): Promise<void> {
  for (const id of await svc.cgroups.list()) await svc.removeStrayCgroup(id);
}
