// The Hono app (app.mjs) as a node listener made by srvx's node adapter, for gantry to serve.
import { toNodeHandler } from 'srvx/node';
import app from './app.mjs';

export default toNodeHandler(app.fetch);
