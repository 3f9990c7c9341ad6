import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUILD } from './build-mark';

// Written by scripts/hash-assets.mjs at build time: { "style.css": "/assets/style.<hash>.css" }
const manifest: Record<string, string> = JSON.parse(readFileSync(join(__dirname, 'asset-manifest.json'), 'utf8'));

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESC[c]);

@Controller()
export class AppController {
  @Get('hello/:name')
  @Header('Content-Type', 'text/html; charset=utf-8')
  hello(@Param('name') name: string): string {
    return `<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Hello</title>
    <link rel="stylesheet" href="${manifest['style.css']}">
  </head>
  <body>
    <h1>Hello, ${escapeHtml(name)}!</h1>
    <p>build ${BUILD}</p>
  </body>
</html>
`;
  }

  @Get('api/ping')
  ping() {
    return { ok: true, build: BUILD };
  }

  @Get('api/slow')
  async slow(@Query('ms') ms?: string) {
    const n = Math.max(0, Math.min(60_000, Number(ms) || 0));
    await sleep(n);
    return { slept: n };
  }
}
