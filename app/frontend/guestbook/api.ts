/** The guestbook's API, as the page uses it: JSON in and out, refusals as problem details (RFC 9457). */

export interface Message {
  readonly id: number;
  readonly author: string;
  readonly body: string;
  readonly createdAt: string;
}

export interface FieldError {
  readonly pointer?: string;
  readonly detail: string;
}

/** A refusal: the problem's detail and its field errors (400), or why the server could not answer. */
export class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const reply = await fetch(path, { ...init, headers: { accept: 'application/json', ...init?.headers } });
  if (reply.ok) return (await reply.json()) as T;
  const problem = reply.headers.get('content-type')?.startsWith('application/problem+json')
    ? ((await reply.json()) as { detail?: string; title?: string; errors?: FieldError[] })
    : {};
  throw new Refused(reply.status, problem.detail ?? problem.title ?? `The server answered ${reply.status}.`, problem.errors);
}

export const postJson = <T>(path: string, body: unknown): Promise<T> =>
  call<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export const getJson = <T>(path: string): Promise<T> => call<T>(path);
