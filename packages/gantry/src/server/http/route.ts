/**
 * The route pattern a request matched (`/users/:id`, never `/users/42`), for metrics labels that stay
 * bounded. Kept apart from the metrics themselves so that an app can mark its routes without loading them.
 */
import type { IncomingMessage } from 'node:http';

/** Where a framework integration (or the app, with setRoute) leaves the route pattern a request matched. */
export const ROUTE = Symbol.for('gantry.route');

type WithRoute = IncomingMessage & { [ROUTE]?: string; route?: { path?: unknown }; baseUrl?: unknown };

/**
 * Tells gantry's metrics which route pattern served a request (`/users/:id`, never `/users/42`), for
 * frameworks gantry does not read it from by itself (it does for Fastify and Express).
 */
export function setRoute(req: IncomingMessage, pattern: string): void {
  (req as WithRoute)[ROUTE] = pattern;
}

export function routeOf(req: IncomingMessage): string {
  const request = req as WithRoute;
  const marked = request[ROUTE];
  if (marked !== undefined) return marked;
  // Express leaves the matched route on the request.
  const path = request.route?.path;
  if (typeof path === 'string') return (typeof request.baseUrl === 'string' ? request.baseUrl : '') + path;
  return 'other';
}
