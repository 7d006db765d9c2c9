// The container store: one directory per container with config.json, hostconfig.json and state.json,
// each written atomically; loaded back when the daemon starts.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors';
import { readJsonFile, writeFileAtomic } from '../util/atomic-file';
import { FULL_ID } from '../util/ids';
import { log } from '../util/logger';
import type { ContainerRecord, ContainerState, HostConfig } from './model';

type StoredConfig = Omit<ContainerRecord, 'state' | 'hostConfig'>;

export class ContainerStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'containers');
  }

  containerDir(id: string): string {
    return path.join(this.dir, id);
  }

  async loadAll(): Promise<ContainerRecord[]> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const records: ContainerRecord[] = [];
    for (const entry of await fsp.readdir(this.dir)) {
      const dir = path.join(this.dir, entry);
      // A removal that a crash interrupted: the rename already took it out of the store; finish it.
      if (entry.startsWith('.removing-')) { await fsp.rm(dir, { recursive: true, force: true }); continue; }
      if (!FULL_ID.test(entry)) continue;
      const config = await readJsonFile<StoredConfig>(path.join(dir, 'config.json'));
      const state = await readJsonFile<ContainerState>(path.join(dir, 'state.json'));
      if (!config || !state) {
        // Create writes config.json last: without it the create never finished, so nothing was promised.
        log.warn('dropping a container whose create did not finish', { id: entry });
        await fsp.rm(dir, { recursive: true, force: true });
        continue;
      }
      const hostConfig = (await readJsonFile<HostConfig>(path.join(dir, 'hostconfig.json'))) ?? {};
      records.push({ ...config, hostConfig, state });
    }
    return records;
  }

  /** Creates the directory and writes every file; config.json last, so its presence means "created". */
  async create(record: ContainerRecord): Promise<void> {
    const dir = this.containerDir(record.id);
    try {
      await fsp.mkdir(dir, { mode: 0o710 });
    } catch (err) {
      throw new EngineError('AlreadyExists', `container ${record.id}: directory exists`, { cause: err });
    }
    await writeFileAtomic(path.join(dir, 'hostconfig.json'), JSON.stringify(record.hostConfig));
    await this.saveState(record);
    await this.saveConfig(record);
  }

  async saveConfig(record: ContainerRecord): Promise<void> {
    const { state: _state, hostConfig: _host, ...config } = record;
    await writeFileAtomic(path.join(this.containerDir(record.id), 'config.json'), JSON.stringify(config, null, 2));
  }

  async saveState(record: ContainerRecord): Promise<void> {
    await writeFileAtomic(path.join(this.containerDir(record.id), 'state.json'), JSON.stringify(record.state, null, 2));
  }

  /** Renames the directory out of the store first: a crash mid-delete never leaves half a container. */
  async remove(id: string): Promise<void> {
    const doomed = path.join(this.dir, `.removing-${id}`);
    await fsp.rename(this.containerDir(id), doomed);
    await fsp.rm(doomed, { recursive: true, force: true });
  }
}
