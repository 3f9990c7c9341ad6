/** The export panel: queues an export of the guestbook, shows its progress, then its download link. */
import { Refused, getJson, postJson } from './api.js';

interface ExportView {
  readonly id: number;
  readonly status: 'queued' | 'active' | 'completed' | 'failed';
  readonly progress: number;
  readonly rows: number | null;
  readonly error: string | null;
}

const POLL_MS = 500;

export async function startExport(panel: HTMLElement): Promise<void> {
  panel.replaceChildren();
  const progress = Object.assign(document.createElement('progress'), { max: 100, value: 0 });
  const text = document.createElement('span');
  panel.append(progress, text);
  try {
    let view = await postJson<ExportView>('/api/exports', {});
    while (view.status === 'queued' || view.status === 'active') {
      progress.value = view.progress;
      text.textContent = ` ${view.status} ${view.progress} %`;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      view = await getJson<ExportView>(`/api/exports/${view.id}`);
    }
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
