// One Hono app for the fetch adapters' comparison: a text answer and a JSON one, as a { fetch } app.
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.text('Hello, World!'));
app.get('/json', (c) => c.json({ message: 'Hello, World!' }));
export default app;
