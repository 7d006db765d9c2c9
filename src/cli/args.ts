// Docker-style argument parsing: flags up to the first positional, then everything is positional
// (so `berth run busybox ls -l` passes -l to ls).

export interface FlagSpec {
  short?: string;
  kind: 'bool' | 'string' | 'list';
}

export interface Parsed {
  flags: Record<string, string | boolean | string[]>;
  positionals: string[];
}

export class UsageError extends Error {}

export function parseFlags(argv: string[], spec: Record<string, FlagSpec>, opts: { interspersed?: boolean } = {}): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name]] : [])));
  for (const [name, s] of Object.entries(spec)) if (s.kind === 'list') flags[name] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      if (!opts.interspersed) { positionals.push(...argv.slice(i + 1)); break; }
      continue;
    }
    const long = arg.startsWith('--');
    const eq = arg.indexOf('=');
    const key = long ? arg.slice(2, eq > 0 ? eq : undefined) : arg.slice(1, 2);
    const name = long ? key : byShort.get(key);
    if (!name || !spec[name]) throw new UsageError(`unknown flag: ${arg}`);
    const s = spec[name];
    if (s.kind === 'bool') {
      // Short booleans may be grouped: -it, -fq.
      if (!long && arg.length > 2) {
        for (const ch of arg.slice(1)) {
          const n = byShort.get(ch);
          if (!n || spec[n].kind !== 'bool') throw new UsageError(`unknown flag: -${ch} in ${arg}`);
          flags[n] = true;
        }
      } else flags[name] = eq > 0 && long ? arg.slice(eq + 1) !== 'false' : true;
      continue;
    }
    let value: string;
    if (long && eq > 0) value = arg.slice(eq + 1);
    else if (!long && arg.length > 2) value = arg.slice(2);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag ${arg} needs a value`);
      value = argv[++i];
    }
    if (s.kind === 'list') (flags[name] as string[]).push(value);
    else flags[name] = value;
  }
  return { flags, positionals };
}
