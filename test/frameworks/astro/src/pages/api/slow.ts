import type { APIRoute } from 'astro';
import { setTimeout as sleep } from 'node:timers/promises';

export const GET: APIRoute = async ({ url }) => {
  const ms = Math.max(0, Math.min(60_000, Number(url.searchParams.get('ms')) || 0));
  await sleep(ms);
  return Response.json({ slept: ms });
};
