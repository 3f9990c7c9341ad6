// Runs the app without gantry: node scripts/listen.mjs (PORT, HOST).
import main from '../dist/main.js';
const app = await main.default();
const port = Number(process.env.PORT ?? 3000),
  host = process.env.HOST ?? '127.0.0.1';
app.listen(port, host, () => console.log(`listening on http://${host}:${port}`));
