import { setTimeout as sleep } from 'node:timers/promises';

export const dynamic = 'force-dynamic';

export async function GET(request: Request) {
  const ms = Math.max(0, Math.min(60_000, Number(new URL(request.url).searchParams.get('ms')) || 0));
  await sleep(ms);
  return Response.json({ slept: ms });
}
