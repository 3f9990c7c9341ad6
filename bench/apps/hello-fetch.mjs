// The same handler as a WHATWG { fetch } app.
export default {
  fetch: () => new Response('Hello, World!', { headers: { 'content-type': 'text/plain' } }),
};
