import { setTimeout as sleep } from 'node:timers/promises';

export default defineEventHandler(async (event) => {
  const ms = Math.max(0, Math.min(60_000, Number(getQuery(event).ms) || 0));
  await sleep(ms);
  return { slept: ms };
});
