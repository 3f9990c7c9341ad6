import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../src/stack/template.js';

describe('nginx templates', () => {
  it("substitutes defined ${VARIABLES} and leaves nginx's own variables alone", () => {
    const text = 'listen ${NGINX_LISTEN}; proxy_set_header Host $host; set $x ${request_id};';
    expect(renderTemplate(text, { NGINX_LISTEN: '127.0.0.1:1337' })).toBe(
      'listen 127.0.0.1:1337; proxy_set_header Host $host; set $x ${request_id};',
    );
  });

  it('refuses an upper-case variable nobody sets, instead of handing nginx a broken config', () => {
    expect(() => renderTemplate('server ${GANTRY_UPSTREAM};', {}, 'gantry.conf.template')).toThrow(
      'gantry.conf.template uses ${GANTRY_UPSTREAM}, which no one sets.',
    );
  });
});
