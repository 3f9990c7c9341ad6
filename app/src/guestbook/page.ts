/**
 * The guestbook page, rendered on the server: the latest messages and a form that posts without
 * JavaScript (the frontend's script, frontend/guestbook/, then posts it with fetch, adds new messages
 * and runs exports). Every user text is escaped; the script's and stylesheet's tags come from the build
 * manifest (gantry/assets).
 */
import { escapeHtml } from '../html.js';
import type { FieldError } from '../http/problems.js';
import type { Message } from './messages.js';
import { AUTHOR_MAX, BODY_MAX } from './validation.js';

export interface PageState {
  /** The frontend's <link> and <script> tags. */
  readonly assets: string;
  readonly messages: readonly Message[];
  /** What was typed, shown again when it was refused. */
  readonly draft?: { readonly author?: string; readonly body?: string };
  readonly errors?: readonly FieldError[];
  /** Instead of the messages: why they cannot be shown. */
  readonly unavailable?: string;
}

function messageItem(message: Message): string {
  return (
    `<li id="message-${message.id}"><p class="body">${escapeHtml(message.body)}</p>` +
    `<p class="meta">${escapeHtml(message.author)}, <time datetime="${message.createdAt}">${message.createdAt}</time></p></li>`
  );
}

/** The errors of one field, next to it (the script fills the same place). */
function fieldError(errors: readonly FieldError[], field: string): string {
  const detail = errors
    .filter((e) => e.pointer === `#/${field}`)
    .map((e) => e.detail)
    .join('; ');
  return `<span class="field-error" id="${field}-error" aria-live="polite">${escapeHtml(detail)}</span>`;
}

const invalid = (errors: readonly FieldError[], field: string) =>
  errors.some((e) => e.pointer === `#/${field}`) ? ' aria-invalid' : '';

export function guestbookPage(state: PageState): string {
  const { assets, messages, draft = {}, errors = [], unavailable } = state;
  const list = unavailable
    ? `<p class="unavailable" role="alert">${escapeHtml(unavailable)}</p>`
    : messages.length === 0
      ? '<p class="empty">No messages yet: be the first.</p>'
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Guestbook</title>
<link rel="icon" href="data:,">
${assets}
</head>
<body>
<main>
<h1>Guestbook</h1>
<form class="sign" method="post" action="/guestbook" novalidate>
<label>Name <input name="author" required maxlength="${AUTHOR_MAX}" value="${escapeHtml(draft.author ?? '')}"${invalid(errors, 'author')}>${fieldError(errors, 'author')}</label>
<label>Message <textarea name="body" required maxlength="${BODY_MAX}" rows="3"${invalid(errors, 'body')}>${escapeHtml(draft.body ?? '')}</textarea>${fieldError(errors, 'body')}</label>
<p id="sign-status" role="alert"></p>
<button type="submit">Sign</button>
</form>
<section class="exports" aria-label="Export">
<button type="button" id="export-start">Export the guestbook (CSV)</button>
<div id="export-status" aria-live="polite"></div>
</section>
${list}
<ol class="messages">${messages.map(messageItem).join('')}</ol>
</main>
</body>
</html>
`;
}
