import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ACCESS_LOG_FORMAT, compileAccessLogFormat } from '../../src/server/http/access-log.js';

function record(headers: Record<string, string>, responseHeader: string) {
  const req = { method: 'GET', url: '/path?q=1', httpVersion: '1.1', headers } as unknown as IncomingMessage;
  const res = { statusCode: 200, getHeader: () => undefined, _header: responseHeader } as unknown as ServerResponse;
  return { req, res, startedAt: performance.now() - 12.5, clientAddress: '198.51.100.7' };
}

describe('the access log', () => {
  it("writes gunicorn's default format, with the trusted client address and the length node sent", () => {
    const line = compileAccessLogFormat(DEFAULT_ACCESS_LOG_FORMAT)(
      record(
        { referer: 'https://ref/', 'user-agent': 'curl/8', authorization: `Basic ${Buffer.from('ann:pw').toString('base64')}` },
        'HTTP/1.1 200 OK\r\nContent-Length: 93\r\n\r\n',
      ),
    );
    expect(line).toMatch(
      /^198\.51\.100\.7 - ann \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/path\?q=1 HTTP\/1\.1" 200 93 "https:\/\/ref\/" "curl\/8"$/,
    );
  });

  it('knows the other atoms, and request and response headers', () => {
    const render = compileAccessLogFormat('%(m)s %(U)s %(q)s %(H)s %(b)s %(B)s %(M)s %({x-id}i)s %({content-type}o)s');
    const line = render(record({ 'x-id': 'abc' }, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
    expect(line).toMatch(/^GET \/path q=1 HTTP\/1\.1 - 0 1[23] abc -$/);
  });

  it('refuses an unknown atom when the format is compiled, not when a line is written', () => {
    expect(() => compileAccessLogFormat('%(h)s %(Z)s')).toThrow(/%\(Z\)s is not one; known: h l u t/);
  });
});
