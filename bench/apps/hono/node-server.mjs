// The Hono app (app.mjs) as a node listener made by @hono/node-server, Hono's own adapter, for gantry to serve.
import { getRequestListener } from '@hono/node-server';
import app from './app.mjs';

export default getRequestListener(app.fetch);
