import { type RouteConfig, route } from '@react-router/dev/routes';

export default [
  route('hello/:name', 'routes/hello.tsx'),
  route('api/ping', 'routes/api.ping.ts'),
  route('api/slow', 'routes/api.slow.ts'),
] satisfies RouteConfig;
