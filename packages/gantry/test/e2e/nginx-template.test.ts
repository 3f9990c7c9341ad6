import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { GantryError } from '../../src/errors.js';
import { parseStaticMount, writeLocalEdge } from '../../src/stack/edge.js';
import { findNginx, prepareNginx } from '../../src/stack/nginx.js';
import { GANTRY_TEMPLATES } from '../../src/stack/settings.js';
import { renderTemplateDir } from '../../src/stack/template.js';
import { describeWith } from '../helpers/requirements.js';
import { nginx } from '../helpers/stack.js';

async function check(templates: string, variables: Record<string, string>) {
  const nginx = await findNginx('nginx');
  if (!nginx) throw new Error('nginx not found');
  const runDir = await mkdtemp(join(tmpdir(), 'gantry-nginx-t-'));
  await mkdir(join(runDir, 'conf.d'));
  await renderTemplateDir(templates, join(runDir, 'conf.d'), variables);
  return prepareNginx(nginx, runDir);
}

describeWith(nginx, 'the nginx template', () => {
  // The container's upstream is web:8080; `nginx -t` resolves upstream names, and "web" exists only on
  // the compose network, so an address stands in for it here.
  it.each([
    ['the local stack, no static mount', '127.0.0.1:1337', '127.0.0.1:8085', { static: [], immutableStatic: [] }],
    [
      'a framework: prefixes, immutable ones and a root',
      '8080',
      '127.0.0.1:8080',
      {
        static: [parseStaticMount('/=public'), parseStaticMount('/static/=static')],
        immutableStatic: [
          parseStaticMount('/_next/static/=.next/static'),
          parseStaticMount('/_app/immutable/=build/client/_app/immutable'),
        ],
      },
    ],
  ])('passes nginx -t as rendered for %s', async (_, listen, upstream, mounts) => {
    const edgeDir = await mkdtemp(join(tmpdir(), 'gantry-edge-'));
    const { edgeConf, tlsConf } = await writeLocalEdge(
      { ...mounts, limitRequestBody: 10_485_760, healthPrefix: '/_gantry' },
      edgeDir,
      edgeDir,
    );
    await expect(
      check(GANTRY_TEMPLATES, {
        NGINX_LISTEN: listen,
        GANTRY_UPSTREAM: upstream,
        GANTRY_EDGE_CONF: edgeConf,
        GANTRY_TLS_CONF: tlsConf,
      }),
    ).resolves.toBeDefined();
  });

  it("reports nginx's own message for a broken template", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gantry-bad-template-'));
    await writeFile(join(dir, 'bad.conf.template'), 'server { listen ${NGINX_LISTEN} }\n');
    const failure = check(dir, { NGINX_LISTEN: '127.0.0.1:1' });
    await expect(failure).rejects.toThrow(GantryError);
    await expect(failure).rejects.toThrow(/nginx rejected the configuration in .*:\n.*unexpected "}"/);
  });
});
