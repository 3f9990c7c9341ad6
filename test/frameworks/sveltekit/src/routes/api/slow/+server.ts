import { json } from '@sveltejs/kit';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ url }) => {
  const ms = Math.max(0, Math.min(60_000, Number(url.searchParams.get('ms')) || 0));
  await sleep(ms);
  return json({ slept: ms });
};
