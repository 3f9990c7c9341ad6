// The benchmark's handler as a node (req, res) listener: what gantry and the bare cluster both serve.
export default function hello(req, res) {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 13 });
  res.end('Hello, World!');
}
