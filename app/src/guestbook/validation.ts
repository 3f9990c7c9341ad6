/**
 * What the guestbook accepts (zod): a message's author and body, trimmed and counted in characters
 * (code points, as PostgreSQL's char_length counts them, not UTF-16 units), and the list's paging.
 * A failure becomes InvalidInput with one entry per field at fault, unknown fields included.
 */
import { z } from 'zod';
import { type FieldError, InvalidInput } from '../http/problems.js';

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
  before: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
});
export type ListQuery = z.infer<typeof listQuery>;

function fieldErrors(error: z.ZodError, where: 'body' | 'query'): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [issue.path.join('/')];
    const detail = issue.code === 'unrecognized_keys' ? 'is not a field of this resource' : issue.message;
    return keys.map((key) => (where === 'body' ? { pointer: `#/${key}`, detail } : { parameter: key, detail }));
  });
}

function parse<T>(schema: z.ZodType<T>, input: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new InvalidInput(fieldErrors(result.error, where));
  return result.data;
}

export const parseNewMessage = (body: unknown): NewMessage => parse(newMessage, body, 'body');
export const parseListQuery = (query: unknown): ListQuery => parse(listQuery, query, 'query');
