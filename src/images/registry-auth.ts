// Registry authentication: WWW-Authenticate challenges (RFC 7235 §4.1) and the token dance of the distribution
// spec (docs/spec/auth/token.md): a 401 names a realm, service and scope; GET the realm with basic credentials or
// anonymously, and use the token it returns as a Bearer.
import { EngineError } from '../errors';

export interface Challenge {
  /** Lower-cased: "basic", "bearer". */
  scheme: string;
  params: Record<string, string>;
}

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token, used in place of the password to get a bearer token. */
  identityToken: string;
}

/**
 * Parses a WWW-Authenticate header into its challenges. Parameter names are lower-cased; quoted values
 * have their backslash escapes removed. Unparseable input yields what was read before it.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skip = (re: RegExp) => { while (i < header.length && re.test(header[i])) i++; };
  const token = (): string => {
    const start = i;
    skip(/[!#$%&'*+\-.^_`|~0-9A-Za-z]/);
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const save = i;
      const name = token();
      skip(/\s/);
      if (!name || header[i] !== '=') {
        // Not a parameter: the next challenge's scheme (or a token68, which no registry scheme uses).
        i = save;
        break;
      }
      i++;
      skip(/\s/);
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i++];
        }
        i++;
      } else {
        value = token();
      }
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return out;
}

/** The URL to GET for a bearer token (the realm, with service and every scope as query parameters). */
export function tokenUrl(challenge: Challenge, scopes: string[]): URL {
  const realm = challenge.params.realm;
  if (!realm) throw new EngineError('Unavailable', 'registry: bearer challenge without a realm');
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new EngineError('Unavailable', `registry: bearer realm ${JSON.stringify(realm)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new EngineError('Unavailable', `registry: bearer realm ${realm} is not http(s)`);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return url;
}

/** The token from a token endpoint's JSON answer ("token", or OAuth2's "access_token"). */
export function tokenFromResponse(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new EngineError('Unavailable', 'registry token endpoint: answer is not JSON');
  }
  const o = parsed as { token?: unknown; access_token?: unknown };
  const token = typeof o.token === 'string' && o.token ? o.token : typeof o.access_token === 'string' ? o.access_token : '';
  if (!token) throw new EngineError('Unavailable', 'registry token endpoint: answer has no token');
  // It goes into an Authorization header: a line break or other control character there is refused by Node.
  if (/[^\x20-\x7e]/.test(token)) throw new EngineError('Unavailable', 'registry token endpoint: the token has characters a header cannot carry');
  return token;
}

export function basicAuthorization(creds: Pick<Credentials, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

/** The scopes a challenge asks for, else ours: "repository:<path>:pull[,push]". */
export function scopesFor(challenge: Challenge, ours: string): string[] {
  const theirs = challenge.params.scope ? challenge.params.scope.split(' ').filter(Boolean) : [];
  return [...new Set([ours, ...theirs])];
}
