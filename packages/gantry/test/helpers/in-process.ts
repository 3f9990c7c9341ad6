/** A node:http server in the test process, for testing request handlers without forking. */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface InProcessServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveInProcess(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<InProcessServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
