// Reads a container's json-file log (one {"log","stream","time"} object per line, Docker's format).
import fs from 'node:fs';
import readline from 'node:readline';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  data: Buffer;
  time: Date;
}

export interface ReadLogOptions {
  stdout: boolean;
  stderr: boolean;
}

interface JsonLine {
  log: string;
  stream: string;
  time: string;
}

export async function* readLog(logPath: string, opts: ReadLogOptions, signal?: AbortSignal): AsyncGenerator<LogEntry> {
  let input: fs.ReadStream;
  try {
    input = fs.createReadStream(logPath, { encoding: 'utf8', signal });
    await new Promise<void>((resolve, reject) => { input.once('open', () => resolve()); input.once('error', reject); });
  } catch (err) {
    // A container that never started has no log yet: that is an empty log.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    let parsed: JsonLine;
    try {
      parsed = JSON.parse(line) as JsonLine;
    } catch {
      // Only a torn last line from a crash can fail to parse; it carries nothing we can trust.
      continue;
    }
    if (parsed.stream === 'stdout' ? !opts.stdout : !opts.stderr) continue;
    yield { stream: parsed.stream === 'stderr' ? 'stderr' : 'stdout', data: Buffer.from(parsed.log, 'utf8'), time: new Date(parsed.time) };
  }
}
