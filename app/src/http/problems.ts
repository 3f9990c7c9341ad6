/**
 * Errors as RFC 9457 problem details (application/problem+json): a status, a title, a detail, and for
 * invalid input the fields at fault (`errors`: a JSON pointer or a parameter name, and what is wrong
 * with it). A database that is away is 503 with Retry-After, not a 500. Stack traces never reach a
 * client; in Production neither does an unexpected error's message. Every error is logged through the
 * request's logger, so its line carries the request id.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseUnavailable } from '../db/connection.js';

/** One field at fault: `pointer` into the JSON body (`#/author`) or a query `parameter`. */
export interface FieldError {
  readonly pointer?: string;
  readonly parameter?: string;
  readonly detail: string;
}

/** Input that failed validation: answered 400 with its field errors. */
export class InvalidInput extends Error {
  readonly errors: readonly FieldError[];

  constructor(errors: readonly FieldError[]) {
    super(`invalid input: ${errors.map((e) => `${e.pointer ?? e.parameter}: ${e.detail}`).join('; ')}`);
    this.errors = errors;
  }
}

export interface Problem {
  readonly status: number;
  readonly title?: string;
  readonly detail?: string;
  readonly type?: string;
  readonly errors?: readonly FieldError[];
}

/** Seconds a client should wait before retrying while the database is away (about a reconnect or two). */
export const DATABASE_RETRY_AFTER_S = 5;

export function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply {
  const { status, title = STATUS_CODES[status] ?? 'Error', type = 'about:blank', ...rest } = problem;
  return reply
    .code(status)
    .headers({ 'cache-control': 'no-store', ...headers })
    .type('application/problem+json')
    .send({ type, title, status, ...rest, instance: reply.request.url });
}

/** Fastify's own request errors (body parser, limits) that are the client's doing, as problems. */
function clientProblem(error: FastifyError): Problem | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, title: 'Malformed JSON', detail: 'The request body is not valid JSON.' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, detail: 'The request body is larger than this endpoint takes.' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, detail: 'This endpoint takes Content-Type: application/json.' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, detail: 'The Content-Length does not match the body.' };
  }
  // The JSON parser's own failure (a syntax error, a __proto__ key) is a SyntaxError with status 400.
  if (error instanceof SyntaxError && error.statusCode === 400)
    return { status: 400, title: 'Malformed JSON', detail: error.message };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, detail: error.message };
  }
  return undefined;
}

export function registerProblemHandlers(app: FastifyInstance, options: { exposeErrors: boolean }): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof InvalidInput) {
      return sendProblem(reply, {
        status: 400,
        title: 'Invalid input',
        detail: 'Some fields are invalid.',
        errors: error.errors,
      });
    }
    if (error instanceof DatabaseUnavailable) {
      request.log.warn({ reason: error.message }, 'the database is unavailable: answered 503');
      return sendProblem(
        reply,
        { status: 503, detail: 'The database is unavailable; try again shortly.' },
        { 'retry-after': String(DATABASE_RETRY_AFTER_S) },
      );
    }
    const problem = clientProblem(error);
    if (problem) {
      request.log.info({ code: error.code, reason: error.message }, 'refused a bad request');
      return sendProblem(reply, problem);
    }
    request.log.error({ err: error }, 'the request failed');
    return sendProblem(reply, { status: 500, ...(options.exposeErrors ? { detail: error.message } : {}) });
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, { status: 404, detail: `Nothing at ${request.method} ${request.url.split('?')[0]}.` }),
  );
}
