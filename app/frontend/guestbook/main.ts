/**
 * The guestbook page's script: the server-rendered form posts with fetch (refusals shown next to their
 * fields), new messages appear without a reload (pushed over a WebSocket, /ws), and the export panel
 * is loaded on first use (a chunk of its own).
 */
import './guestbook.css';
import { type Message, Refused, getJson, postJson } from './api.js';

/** Reconnects back off from half a second to 10 s, each delay jittered so that a server's clients spread out. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 10_000;

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

/**
 * The live feed: each new message, pushed. A closed socket (the server's worker restarting sends 1001
 * "going away") reconnects, and what came meanwhile is read once it is back.
 */
function follow(attempt = 0): void {
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`);
  socket.addEventListener('open', () => {
    attempt = 0;
    getJson<{ messages: Message[] }>('/api/messages?limit=20')
      .then(({ messages }) => show(messages))
      .catch(() => {}); // the feed goes on; a later reconnect reads again
  });
  socket.addEventListener('message', (event: MessageEvent<string>) => {
    const pushed = JSON.parse(event.data) as { type: string; message?: Message };
    if (pushed.type === 'message' && pushed.message) show([pushed.message]);
  });
  socket.addEventListener('close', () => {
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** attempt) * (0.5 + Math.random());
    setTimeout(() => follow(attempt + 1), delay);
  });
}
follow();

document.querySelector('#export-start')!.addEventListener('click', (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  button.disabled = true;
  void import('./exports.js')
    .then(({ startExport }) => startExport(document.querySelector('#export-status')!))
    .finally(() => (button.disabled = false));
});

// A chunk of an older release gone from the server (deploy skew): load the page again, with its new names.
window.addEventListener('vite:preloadError', () => window.location.reload());
