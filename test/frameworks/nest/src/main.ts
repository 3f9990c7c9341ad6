import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { join } from 'node:path';
import { AppModule } from './app.module';

// gantry serves this module: it calls createApp() and gets back a request
// listener (the Express app); gantry owns the listening socket, so no app.listen().
export default async function createApp() {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger: ['error', 'warn'],
  });
  // Fallback for when no nginx is in front: public/ and the hashed public/assets/.
  app.useStaticAssets(join(__dirname, '..', 'public', 'assets'), {
    prefix: '/assets/',
    immutable: true,
    maxAge: '1y',
  });
  app.useStaticAssets(join(__dirname, '..', 'public'));
  await app.init();
  return app.getHttpAdapter().getInstance();
}
