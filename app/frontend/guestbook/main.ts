/**
 * The guestbook page's script: the server-rendered form posts with fetch (refusals shown next to their
 * fields), new messages appear without a reload (a poll, until the live feed), and the export panel is
 * loaded on first use (a chunk of its own).
 */
import './guestbook.css';
import { type Message, Refused, getJson, postJson } from './api.js';

const POLL_MS = 3000;

const form = document.querySelector<HTMLFormElement>('form.sign')!;
const list = document.querySelector<HTMLOListElement>('ol.messages')!;
const status = document.querySelector<HTMLElement>('#sign-status')!;

function messageItem(message: Message): HTMLLIElement {
  const item = document.createElement('li');
  item.id = `message-${message.id}`;
  const body = Object.assign(document.createElement('p'), { className: 'body', textContent: message.body });
  const meta = Object.assign(document.createElement('p'), { className: 'meta', textContent: `${message.author}, ` });
  const time = Object.assign(document.createElement('time'), { dateTime: message.createdAt, textContent: message.createdAt });
  meta.append(time);
  item.append(body, meta);
  return item;
}

/** Shows messages not on the page yet, newest first. */
function show(messages: readonly Message[]): void {
  document.querySelector('p.empty')?.remove();
  for (const message of [...messages].reverse()) {
    if (!document.getElementById(`message-${message.id}`)) list.prepend(messageItem(message));
  }
}

function showErrors(errors: readonly { pointer?: string; detail: string }[]): void {
  for (const field of form.querySelectorAll<HTMLElement>('[name]')) {
    const error = errors.find((e) => e.pointer === `#/${field.getAttribute('name')}`);
    field.toggleAttribute('aria-invalid', error !== undefined);
    const note = document.getElementById(`${field.getAttribute('name')}-error`);
    if (note) note.textContent = error?.detail ?? '';
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const data = new FormData(form);
  status.textContent = '';
  form.querySelector('button')!.disabled = true;
  postJson<Message>('/api/messages', { author: data.get('author'), body: data.get('body') })
    .then((message) => {
      showErrors([]);
      show([message]);
      form.querySelector<HTMLTextAreaElement>('[name=body]')!.value = '';
    })
    .catch((error: unknown) => {
      if (error instanceof Refused && error.errors.length > 0) return showErrors(error.errors);
      status.textContent = error instanceof Error ? error.message : String(error);
    })
    .finally(() => (form.querySelector('button')!.disabled = false));
});

async function poll(): Promise<void> {
  if (document.visibilityState === 'visible') {
    await getJson<{ messages: Message[] }>('/api/messages?limit=20')
      .then(({ messages }) => show(messages))
      .catch(() => {}); // the next poll tries again
  }
  setTimeout(() => void poll(), POLL_MS);
}
setTimeout(() => void poll(), POLL_MS);

document.querySelector('#export-start')!.addEventListener('click', (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  button.disabled = true;
  void import('./exports.js')
    .then(({ startExport }) => startExport(document.querySelector('#export-status')!))
    .finally(() => (button.disabled = false));
});

// A chunk of an older release gone from the server (deploy skew): load the page again, with its new names.
window.addEventListener('vite:preloadError', () => window.location.reload());
