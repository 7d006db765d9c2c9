// `berth import --change`: the Dockerfile instructions docker import takes (CMD, ENTRYPOINT, ENV, WORKDIR, USER).
import type { ImageConfig } from '../gen/berth/v1/images';
import { UsageError } from './args';

/** JSON array form as given; shell form runs under /bin/sh -c, as in a Dockerfile. */
function commandForm(text: string): string[] {
  if (text.trimStart().startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new UsageError(`not a JSON array of strings: ${text}`);
    return parsed;
  }
  return ['/bin/sh', '-c', text];
}

export function applyChanges(changes: string[]): ImageConfig {
  const config: ImageConfig = { env: [], cmd: [], entrypoint: [], workingDir: '', user: '', exposedPorts: [], volumes: [], labels: {}, stopSignal: '' };
  for (const change of changes) {
    const m = /^\s*(\w+)\s+(.*)$/s.exec(change);
    if (!m) throw new UsageError(`--change ${JSON.stringify(change)}: expected INSTRUCTION ARGS`);
    const [, instruction, rest] = m;
    switch (instruction.toUpperCase()) {
      case 'CMD': config.cmd = commandForm(rest); break;
      case 'ENTRYPOINT': config.entrypoint = commandForm(rest); break;
      case 'WORKDIR': config.workingDir = rest.trim(); break;
      case 'USER': config.user = rest.trim(); break;
      case 'ENV': {
        const eq = rest.indexOf('=');
        const space = rest.search(/\s/);
        config.env.push(eq > 0 && (space < 0 || eq < space) ? rest.trim() : `${rest.slice(0, space)}=${rest.slice(space + 1).trim()}`);
        break;
      }
      default: throw new UsageError(`--change ${JSON.stringify(change)}: ${instruction} is not supported (CMD, ENTRYPOINT, ENV, WORKDIR, USER)`);
    }
  }
  return config;
}
