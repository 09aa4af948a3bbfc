// The table of a room's recordings, newest first. Each participant's name links to the
// recording on the same page.

import { setText } from './i18n.js';
import { formatDateTime, formatDuration, sourceName, statusName } from './recording-format.js';

function cell(text, className = '') {
  const td = document.createElement('td');
  td.className = className;
  td.textContent = text;
  return td;
}

/** Returns a recording's length in milliseconds, counting one still in progress until now. */
export function recordingLength(recording, now = Date.now()) {
  if (Number.isFinite(recording.duration_ms)) {
    return recording.duration_ms;
  }
  return (recording.ended_unix_ms ?? now) - recording.started_unix_ms;
}

function nameCell(recording, href) {
  const td = document.createElement('td');
  const link = document.createElement('a');
  link.href = href;
  link.dataset.testid = 'open-recording';
  link.textContent = recording.participant_name || recording.participant;
  td.append(link);
  return td;
}

function statusCell(recording) {
  const td = cell(statusName(recording.status), 'recording-status');
  td.dataset.status = recording.status;
  return td;
}

function segmentsCell(recording) {
  const pending = recording.pending_upload ?? 0;
  const td = cell(String(recording.segments ?? 0));
  if (pending > 0) {
    const note = document.createElement('span');
    note.className = 'attention';
    setText(note, 'review.pending_upload', { count: pending });
    td.append(' ', note);
  }
  return td;
}

function row(recording, href) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'recording-row';
  tr.dataset.id = recording.id;
  tr.dataset.status = recording.status;
  tr.append(
    nameCell(recording, href),
    cell(formatDateTime(recording.started_unix_ms)),
    cell(formatDuration(recordingLength(recording)), 'numeric'),
    statusCell(recording),
    cell((recording.sources ?? []).map(sourceName).join(', ')),
    segmentsCell(recording),
  );
  return tr;
}

/**
 * Fills `tbody` with one row per recording, newest first.
 * @param {(id: string) => string} linkFor the address that opens a recording
 */
export function renderRecordingList(tbody, recordings, linkFor) {
  const sorted = [...recordings].sort((a, b) => b.started_unix_ms - a.started_unix_ms);
  tbody.replaceChildren(...sorted.map((recording) => row(recording, linkFor(recording.id))));
}
