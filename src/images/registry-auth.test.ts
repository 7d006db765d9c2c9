import { describe, expect, it } from 'vitest';
import { parseWwwAuthenticate, scopesFor, tokenFromResponse, tokenUrl } from './registry-auth';

describe('parseWwwAuthenticate', () => {
  it.each([
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } }],
    ],
    [
      'Bearer realm="http://127.0.0.1:9/token", service=reg, scope="repository:a:pull,push repository:b:pull", error="insufficient_scope"',
      [{ scheme: 'bearer', params: { realm: 'http://127.0.0.1:9/token', service: 'reg', scope: 'repository:a:pull,push repository:b:pull', error: 'insufficient_scope' } }],
    ],
    ['Basic realm="a", Bearer realm="b",service="s"', [{ scheme: 'basic', params: { realm: 'a' } }, { scheme: 'bearer', params: { realm: 'b', service: 's' } }]],
    ['BEARER Realm="x\\"y"', [{ scheme: 'bearer', params: { realm: 'x"y' } }]],
    ['', []],
  ])('%s', (header, want) => {
    expect(parseWwwAuthenticate(header)).toEqual(want);
  });
});

describe('the token dance', () => {
  it('asks the realm for the service and every scope', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="https://auth.example/token?x=1",service="reg",scope="repository:a:pull"');
    const url = tokenUrl(c, scopesFor(c, 'repository:b:pull,push'));
    expect(url.origin + url.pathname).toBe('https://auth.example/token');
    expect(url.searchParams.get('x')).toBe('1');
    expect(url.searchParams.get('service')).toBe('reg');
    expect(url.searchParams.getAll('scope')).toEqual(['repository:b:pull,push', 'repository:a:pull']);
  });

  it('refuses a realm that is not an http(s) URL', () => {
    expect(() => tokenUrl({ scheme: 'bearer', params: { realm: 'file:///etc/passwd' } }, [])).toThrow(/not http\(s\)/);
    expect(() => tokenUrl({ scheme: 'bearer', params: {} }, [])).toThrow(/without a realm/);
  });

  it('takes "token", else OAuth2 "access_token"', () => {
    expect(tokenFromResponse('{"token":"t1","access_token":"t2"}')).toBe('t1');
    expect(tokenFromResponse('{"access_token":"t2"}')).toBe('t2');
    expect(() => tokenFromResponse('{"token":"t1\\r\\nX-Evil: 1"}')).toThrow('characters a header cannot carry');
    expect(() => tokenFromResponse('{}')).toThrow(/no token/);
    expect(() => tokenFromResponse('<html>')).toThrow(/not JSON/);
  });
});
