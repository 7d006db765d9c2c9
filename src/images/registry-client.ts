// An OCI distribution API client (distribution-spec spec.md) over node:http/https, for one repository: manifests,
// blobs, uploads, with basic or bearer-token auth learnt from the registry's 401 challenges. Plain HTTP only for
// loopback registries, as docker treats 127.0.0.0/8 as insecure by default.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { EngineError, type ErrorKind } from '../errors';
import { basicAuthorization, parseWwwAuthenticate, scopesFor, tokenFromResponse, tokenUrl, type Credentials } from './registry-auth';
import { DOCKER_HUB } from './reference';

export interface RegistryClientOptions {
  /** The registry as the reference names it ("127.0.0.1:5000", "docker.io"). */
  domain: string;
  /** The repository on it ("library/busybox"). */
  repository: string;
  push: boolean;
  credentials?: Credentials;
  signal?: AbortSignal;
  /** Inactivity timeout of each request. */
  timeoutMs?: number;
}

/** A body that can be sent again after an auth challenge: bytes, or a function opening a fresh stream. */
export type Body = Buffer | { open: () => Readable; length: number };

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Body;
  /** Statuses that are answers; any other is an error naming what was being done. */
  ok: number[];
  what: string;
}

const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 64 * 1024;

export function isLoopback(host: string): boolean {
  const name = host.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(name) || name === '::1';
}

export class RegistryClient {
  readonly base: URL;
  private authorization: string | undefined;
  private readonly scope: string;

  constructor(private readonly opts: RegistryClientOptions) {
    const host = opts.domain === DOCKER_HUB ? 'registry-1.docker.io' : opts.domain;
    this.base = new URL(`${isLoopback(host) ? 'http' : 'https'}://${host}/`);
    this.scope = `repository:${opts.repository}:${opts.push ? 'pull,push' : 'pull'}`;
  }

  /** A path under /v2/<repository>/. */
  url(rest: string): URL {
    return new URL(`/v2/${this.opts.repository}/${rest}`, this.base);
  }

  /** Sends a request; on a 401 it answers the challenge once and sends it again. */
  async request(method: string, url: URL, o: RequestOptions): Promise<IncomingMessage> {
    let res = await this.send(method, url, o);
    if (res.statusCode === 401) {
      const header = String(res.headers['www-authenticate'] ?? '');
      await drain(res);
      await this.answerChallenge(header, o.what);
      res = await this.send(method, url, o);
    }
    if (!o.ok.includes(res.statusCode ?? 0)) throw await statusError(res, `${o.what}: registry ${this.opts.domain}`);
    return res;
  }

  private async answerChallenge(header: string, what: string): Promise<void> {
    const challenges = parseWwwAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const creds = this.opts.credentials;
    if (bearer) {
      this.authorization = `Bearer ${await this.fetchToken(tokenUrl(bearer, scopesFor(bearer, this.scope)), what)}`;
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!creds?.username) throw new EngineError('PermissionDenied', `${what}: registry ${this.opts.domain} requires a username and password`);
      this.authorization = basicAuthorization(creds);
      return;
    }
    throw new EngineError('PermissionDenied', `${what}: registry ${this.opts.domain} answered 401 with no challenge berth can answer (${JSON.stringify(header)})`);
  }

  /** GET the realm (with basic credentials when we have them), or POST a refresh token (OAuth2) for an identity token. */
  private async fetchToken(url: URL, what: string): Promise<string> {
    const creds = this.opts.credentials;
    const doing = `${what}: token from ${url.origin}${url.pathname}`;
    let res: IncomingMessage;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'berth' });
      for (const [k, v] of url.searchParams) form.append(k, v);
      const body = Buffer.from(form.toString());
      res = await this.raw('POST', new URL(url.origin + url.pathname), { 'content-type': 'application/x-www-form-urlencoded' }, body, 0);
    } else {
      const headers: Record<string, string> = creds?.username ? { authorization: basicAuthorization(creds) } : {};
      res = await this.raw('GET', url, headers, undefined, 0);
    }
    if (res.statusCode === 401 || res.statusCode === 403) throw await statusError(res, doing, 'PermissionDenied');
    if (res.statusCode !== 200) throw await statusError(res, doing);
    return tokenFromResponse((await readBody(res, MAX_ERROR_BODY, doing)).toString('utf8'));
  }

  private send(method: string, url: URL, o: RequestOptions): Promise<IncomingMessage> {
    const headers: Record<string, string> = { ...o.headers };
    if (this.authorization) headers.authorization = this.authorization;
    return this.raw(method, url, headers, o.body, 0);
  }

  /** One HTTP exchange, following redirects for bodiless requests (credentials only go back to the same origin). */
  private raw(method: string, url: URL, headers: Record<string, string>, body: Body | undefined, redirects: number): Promise<IncomingMessage> {
    if (url.protocol === 'http:' && !isLoopback(url.host) && url.host !== this.base.host) {
      return Promise.reject(new EngineError('PermissionDenied', `registry ${this.opts.domain}: refusing plain http to ${url.host}`));
    }
    const mod = url.protocol === 'https:' ? https : http;
    const length = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.length;
    const all = { 'user-agent': 'berth', ...headers, ...(body !== undefined || method === 'PUT' || method === 'POST' || method === 'PATCH' ? { 'content-length': String(length) } : {}) };
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, { method, headers: all, signal: this.opts.signal }, (res) => {
        const status = res.statusCode ?? 0;
        if ([301, 302, 303, 307, 308].includes(status) && res.headers.location && body === undefined && (method === 'GET' || method === 'HEAD')) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) return reject(new EngineError('Unavailable', `registry ${this.opts.domain}: too many redirects`));
          // The registry chooses Location: an unparsable one thrown here, in a response callback, would end berthd.
          let next: URL;
          try {
            next = new URL(res.headers.location, url);
          } catch {
            return reject(new EngineError('Unavailable', `registry ${this.opts.domain}: redirect to an invalid location ${JSON.stringify(res.headers.location)}`));
          }
          const h = { ...headers };
          if (next.origin !== url.origin) delete h.authorization;
          return resolve(this.raw(method, next, h, undefined, redirects + 1));
        }
        resolve(res);
      });
      req.setTimeout(this.opts.timeoutMs ?? 60_000, () => req.destroy(new EngineError('Unavailable', `registry ${this.opts.domain}: no answer from ${url.host} in ${(this.opts.timeoutMs ?? 60_000) / 1000}s`)));
      req.on('error', (err) => reject(networkError(err, this.opts.domain)));
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        const stream = body.open();
        stream.on('error', (err) => req.destroy(err));
        stream.pipe(req);
      }
    });
  }
}

/** Reads a whole response body, refusing more than limit bytes. */
export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? -1);
  if (declared > limit) {
    res.destroy();
    throw new EngineError('FailedPrecondition', `${what}: ${declared} bytes is more than the ${limit} allowed`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res) {
      total += (chunk as Buffer).length;
      if (total > limit) {
        res.destroy();
        throw new EngineError('FailedPrecondition', `${what}: more than the ${limit} bytes allowed`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    // A connection the registry reset mid-answer ("aborted", ECONNRESET) is the registry's failure.
    if (err instanceof EngineError || (err instanceof Error && err.name === 'AbortError')) throw err;
    throw new EngineError('Unavailable', `${what}: the registry's answer broke off: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return Buffer.concat(chunks);
}

/** The answer's body as it arrives; a connection the registry breaks off midway is Unavailable, as in readBody. */
export async function* streamBody(res: IncomingMessage, what: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of res) yield chunk as Uint8Array;
  } catch (err) {
    if (err instanceof EngineError || (err instanceof Error && err.name === 'AbortError')) throw err;
    throw new EngineError('Unavailable', `${what}: the registry's answer broke off: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function drain(res: IncomingMessage): Promise<void> {
  for await (const _ of res) {
    // discarding an answer we will not use, so the socket can be reused
  }
}

function kindOfStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) return 'PermissionDenied';
  if (status === 404) return 'NotFound';
  if (status === 429) return 'ResourceExhausted';
  if (status >= 500) return 'Unavailable';
  return 'FailedPrecondition';
}

/** An error naming the status and the registry's own messages ({"errors":[{"code","message"}]}). */
async function statusError(res: IncomingMessage, what: string, kind?: ErrorKind): Promise<EngineError> {
  const status = res.statusCode ?? 0;
  let detail = '';
  try {
    const body = (await readBody(res, MAX_ERROR_BODY, what)).toString('utf8');
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    detail = (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    // not JSON, or too big: the status says enough
  }
  return new EngineError(kind ?? kindOfStatus(status), `${what}: ${status} ${http.STATUS_CODES[status] ?? ''}${detail ? ` (${detail})` : ''}`.trim());
}

function networkError(err: unknown, domain: string): Error {
  if (err instanceof EngineError || (err instanceof Error && err.name === 'AbortError')) return err as Error;
  const why = err instanceof Error ? err.message : String(err);
  return new EngineError('Unavailable', `registry ${domain}: ${why}`, { cause: err });
}

