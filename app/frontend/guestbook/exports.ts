/**
 * The export panel: queues an export of the guestbook, shows its progress as the job workers report it
 * (an event stream: /api/exports/:id/events), then its download link.
 */
import { Refused, postJson } from './api.js';

interface ExportView {
  readonly id: number;
  readonly status: 'queued' | 'active' | 'completed' | 'failed';
  readonly progress: number;
  readonly rows: number | null;
  readonly error: string | null;
}

/** The export's views until it is done: completed or failed. */
function follow(id: number, onView: (view: ExportView) => void): Promise<ExportView> {
  return new Promise((resolve) => {
    // EventSource reconnects by itself (a worker restarting ends the stream); closed once the export is done.
    const source = new EventSource(`/api/exports/${id}/events`);
    source.addEventListener('export', (event: MessageEvent<string>) => {
      const view = JSON.parse(event.data) as ExportView;
      if (view.status === 'queued' || view.status === 'active') return onView(view);
      source.close();
      resolve(view);
    });
  });
}

export async function startExport(panel: HTMLElement): Promise<void> {
  panel.replaceChildren();
  const progress = Object.assign(document.createElement('progress'), { max: 100, value: 0 });
  const text = document.createElement('span');
  panel.append(progress, text);
  try {
    const queued = await postJson<ExportView>('/api/exports', {});
    const view = await follow(queued.id, (current) => {
      progress.value = current.progress;
      text.textContent = ` ${current.status} ${current.progress} %`;
    });
    if (view.status === 'failed') {
      text.textContent = ` failed: ${view.error ?? 'no reason given'}`;
      return;
    }
    progress.value = 100;
    const link = Object.assign(document.createElement('a'), {
      href: `/api/exports/${view.id}/download`,
      textContent: `Download the CSV (${view.rows ?? 0} messages)`,
    });
    link.setAttribute('download', `guestbook-${view.id}.csv`);
    text.replaceChildren(' ', link);
  } catch (error) {
    text.textContent = ` ${error instanceof Refused ? error.message : 'the export could not start'}`;
  }
}
