/**
 * What the guestbook accepts (zod): a message's author and body, trimmed and counted in characters
 * (code points, as PostgreSQL's char_length counts them, not UTF-16 units), and the list's paging.
 * A failure becomes InvalidInput (http/input.ts).
 */
import { z } from 'zod';
import { MAX_ROW_ID, parseInput } from '../http/input.js';

export const AUTHOR_MAX = 64;
export const BODY_MAX = 2000;
export const PAGE_MAX = 100;

function text(max: number) {
  return z
    .string()
    .trim()
    .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters')
    .refine((value) => value.length > 0, 'must not be empty')
    .refine((value) => [...value].length <= max, `must be at most ${max} characters`);
}

const newMessage = z.strictObject({ author: text(AUTHOR_MAX), body: text(BODY_MAX) });
export type NewMessage = z.infer<typeof newMessage>;

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(PAGE_MAX).default(20),
  before: z.coerce.number().int().min(1).max(MAX_ROW_ID).optional(),
});
export type ListQuery = z.infer<typeof listQuery>;

export const parseNewMessage = (body: unknown): NewMessage => parseInput(newMessage, body, 'body');
export const parseListQuery = (query: unknown): ListQuery => parseInput(listQuery, query, 'query');
