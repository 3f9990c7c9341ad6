/**
 * The guestbook page, rendered on the server: the latest messages and a form that posts without
 * JavaScript. Every user text is escaped.
 */
import { escapeHtml } from '../html.js';
import type { FieldError } from '../http/problems.js';
import type { Message } from './messages.js';
import { AUTHOR_MAX, BODY_MAX } from './validation.js';

export interface PageState {
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

function errorList(errors: readonly FieldError[]): string {
  const items = errors.map(
    (e) => `<li>${escapeHtml((e.pointer ?? e.parameter ?? '').replace('#/', ''))}: ${escapeHtml(e.detail)}</li>`,
  );
  return `<ul class="errors" role="alert">${items.join('')}</ul>`;
}

export function guestbookPage(state: PageState): string {
  const { messages, draft = {}, errors = [], unavailable } = state;
  const list = unavailable
    ? `<p class="unavailable" role="alert">${escapeHtml(unavailable)}</p>`
    : messages.length === 0
      ? '<p class="empty">No messages yet: be the first.</p>'
      : `<ol class="messages">${messages.map(messageItem).join('')}</ol>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Guestbook</title>
</head>
<body>
<main>
<h1>Guestbook</h1>
<form method="post" action="/guestbook">
${errors.length > 0 ? errorList(errors) : ''}
<label>Name <input name="author" required maxlength="${AUTHOR_MAX}" value="${escapeHtml(draft.author ?? '')}"></label>
<label>Message <textarea name="body" required maxlength="${BODY_MAX}" rows="3">${escapeHtml(draft.body ?? '')}</textarea></label>
<button type="submit">Sign</button>
</form>
${list}
</main>
</body>
</html>
`;
}
