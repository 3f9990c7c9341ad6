import { setTimeout as sleep } from 'node:timers/promises';
import type { Route } from './+types/api.slow';

export async function loader({ request }: Route.LoaderArgs) {
  const ms = Math.max(0, Math.min(60_000, Number(new URL(request.url).searchParams.get('ms')) || 0));
  await sleep(ms);
  return Response.json({ slept: ms });
}
