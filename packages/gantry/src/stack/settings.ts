/** `gantry stack` settings: the local nginx + gantry pair (flags --nginx-port..., env GANTRY_NGINX_PORT...). */
import { integer, text } from '../settings/codecs.js';
import type { Registry } from '../settings/registry.js';

export interface StackSettings {
  nginxPort: number;
  appPort: number;
  nginxBin: string;
  nginxTemplates: string;
  staticDir: string;
  runDir: string;
}

export const stackSettings = {
  nginxPort: {
    codec: integer({ min: 1, max: 65535 }),
    default: 1337,
    section: 'Local stack',
    doc: 'Port nginx listens on, on 127.0.0.1.',
  },
  appPort: {
    codec: integer({ min: 1, max: 65535 }),
    default: 8085,
    section: 'Local stack',
    doc: 'Port the gantry server listens on, on 127.0.0.1 (nginx proxies to it).',
  },
  nginxBin: {
    codec: text('PATH'),
    default: 'nginx',
    section: 'Local stack',
    doc: 'The nginx program: a name looked up on PATH and in the usual sbin directories, or a path.',
  },
  nginxTemplates: {
    codec: text('DIR'),
    default: 'nginx/templates',
    section: 'Local stack',
    doc: 'Directory of nginx *.template files, rendered as the official nginx image does.',
  },
  staticDir: {
    codec: text('DIR'),
    default: 'static',
    section: 'Local stack',
    doc: 'Directory nginx serves at /static/.',
  },
  runDir: {
    codec: text('DIR'),
    default: '.gantry/stack',
    section: 'Local stack',
    doc: 'Where the rendered nginx config, its pid, temp files and access log go.',
  },
} satisfies Registry<StackSettings>;
