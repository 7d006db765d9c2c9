// JSON.parse for seccomp profiles, except that an integer too large for a double comes back as a bigint instead
// of silently rounding: argument values are u64, and Node 20's JSON.parse gives a reviver no access to the source.

export class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    why: string,
  ) {
    super(`invalid JSON at offset ${offset}: ${why}`);
    this.name = 'JsonSyntaxError';
  }
}

/** Nesting deeper than this is refused rather than risking the stack; profiles nest four levels. */
const MAX_DEPTH = 256;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

/**
 * The value `text` holds. Integers written without a fraction or exponent that are not safe integers are bigints;
 * every other number is a number. Objects have a null prototype, so a "__proto__" key is an ordinary field.
 */
export function parseJson(text: string): unknown {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.skipWhitespace();
  if (parser.at < text.length) throw new JsonSyntaxError(parser.at, 'unexpected text after the value');
  return value;
}

class Parser {
  at = 0;

  constructor(private readonly text: string) {}

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(this.at, `nested deeper than ${MAX_DEPTH}`);
    this.skipWhitespace();
    const c = this.text[this.at];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    throw new JsonSyntaxError(this.at, c === undefined ? 'unexpected end of text' : `unexpected ${JSON.stringify(c)}`);
  }

  skipWhitespace(): void {
    WHITESPACE.lastIndex = this.at;
    WHITESPACE.exec(this.text);
    this.at = WHITESPACE.lastIndex;
  }

  private object(depth: number): Record<string, unknown> {
    const result: Record<string, unknown> = Object.create(null);
    this.at++;
    if (this.peekAfterWhitespace() === '}') {
      this.at++;
      return result;
    }
    for (;;) {
      if (this.peekAfterWhitespace() !== '"') throw new JsonSyntaxError(this.at, 'expected a field name');
      const key = this.string();
      if (this.peekAfterWhitespace() !== ':') throw new JsonSyntaxError(this.at, 'expected ":"');
      this.at++;
      result[key] = this.value(depth + 1);
      if (this.endOf('}')) return result;
    }
  }

  private array(depth: number): unknown[] {
    const result: unknown[] = [];
    this.at++;
    if (this.peekAfterWhitespace() === ']') {
      this.at++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth + 1));
      if (this.endOf(']')) return result;
    }
  }

  /** After an element: true at the closing bracket, false after a comma; both are consumed. */
  private endOf(close: string): boolean {
    const c = this.peekAfterWhitespace();
    if (c === close || c === ',') {
      this.at++;
      return c === close;
    }
    throw new JsonSyntaxError(this.at, `expected "," or "${close}"`);
  }

  /** Finds the closing quote, then lets JSON.parse decode the escapes (and refuse bad ones). */
  private string(): string {
    const start = this.at;
    let end = start + 1;
    while (end < this.text.length && this.text[end] !== '"') end += this.text[end] === '\\' ? 2 : 1;
    if (end >= this.text.length) throw new JsonSyntaxError(start, 'unterminated string');
    this.at = end + 1;
    try {
      return JSON.parse(this.text.slice(start, end + 1)) as string;
    } catch {
      throw new JsonSyntaxError(start, 'bad string (control character or escape)');
    }
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match) throw new JsonSyntaxError(this.at, 'bad number');
    this.at = NUMBER.lastIndex;
    const value = Number(match[0]);
    const integerLiteral = match[1] === undefined && match[2] === undefined;
    return integerLiteral && !Number.isSafeInteger(value) ? BigInt(match[0]) : value;
  }

  private peekAfterWhitespace(): string | undefined {
    this.skipWhitespace();
    return this.text[this.at];
  }
}
