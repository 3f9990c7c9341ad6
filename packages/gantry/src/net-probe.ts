/** A connection probe, for the server (is a unix socket file still served?) and the stack (is a port up?). */
import { type NetConnectOpts, connect } from 'node:net';

/** Whether something accepts a connection there now (the probe is closed at once). */
export function canConnect(options: NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(options);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
