/** The seed's page: MSG, the connection string (its password masked) and the time, with its offset. */
import { maskUrlPassword } from 'gantry/config';
import { escapeHtml } from './html.js';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO 8601 in local time with its UTC offset: 2026-11-24T10:43:00.123+01:00 (the seed's naive datetime.now(), fixed). */
function isoWithOffset(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

export interface PageConfig {
  readonly MSG: string;
  readonly DB_CONNECTION_STRING: string;
}

/** The page is fixed but for the time, so the rest is rendered once. */
export function indexPage(config: PageConfig): (now: Date) => string {
  const head =
    `MSG: ${escapeHtml(config.MSG)}<br/>\n` +
    `DB STRING: ${escapeHtml(maskUrlPassword(config.DB_CONNECTION_STRING))}<br/>\n` +
    'Time: ';
  return (now) => head + isoWithOffset(now);
}
