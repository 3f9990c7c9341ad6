/**
 * Reading a request's input with zod: a failure becomes InvalidInput, one entry per field at fault
 * (JSON pointers into the body, names of query parameters), unknown fields included; and the id of a
 * row in a path, which every `/api/.../:id` route takes.
 */
import type { z } from 'zod';
import { type FieldError, InvalidInput } from './problems.js';

/** The largest id an integer identity column holds. */
export const MAX_ROW_ID = 2_147_483_647;

function fieldErrors(error: z.ZodError, where: 'body' | 'query'): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [issue.path.join('/')];
    const detail = issue.code === 'unrecognized_keys' ? 'is not a field of this resource' : issue.message;
    return keys.map((key) => (where === 'body' ? { pointer: `#/${key}`, detail } : { parameter: key, detail }));
  });
}

export function parseInput<T>(schema: z.ZodType<T>, input: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new InvalidInput(fieldErrors(result.error, where));
  return result.data;
}

/** A path's `:id`: a positive integer an identity column can hold, else 400. */
export function parseRowId(raw: string): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 1 || id > MAX_ROW_ID)
    throw new InvalidInput([{ parameter: 'id', detail: 'must be a positive integer' }]);
  return id;
}
