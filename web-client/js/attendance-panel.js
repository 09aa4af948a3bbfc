// The organiser's attendance table, from GET /api/v1/briefings/{room}/attendance, with a
// CSV download. The request carries the access token; every read is audited by the server.

import { setText } from './i18n.js';
import { formatClock, formatDateTime } from './recording-format.js';

function formatTime(unixMs) {
  return unixMs === null ? '' : formatDateTime(unixMs);
}

async function fetchAttendance(room, token, format) {
  const path = `/api/v1/briefings/${encodeURIComponent(room)}/attendance?format=${format}`;
  const response = await fetch(path, {
    cache: 'no-store',
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!response.ok) {
    throw new Error(`attendance request failed with HTTP ${response.status}`);
  }
  return format === 'csv' ? response.blob() : response.json();
}

export class AttendancePanel {
  #root;
  #table;
  #status;
  #token;
  #room = null;

  constructor(root, token) {
    this.#root = root;
    this.#token = token;
    this.#table = root.querySelector('[data-testid="attendance-rows"]');
    this.#status = root.querySelector('[data-testid="attendance-status"]');
    root
      .querySelector('[data-testid="attendance-refresh"]')
      .addEventListener('click', () => this.#load());
    root
      .querySelector('[data-testid="attendance-csv"]')
      .addEventListener('click', () => this.#download());
  }

  /** Shows the panel for `room`. */
  bind(room) {
    this.#room = room;
    this.#root.hidden = false;
  }

  async #load() {
    try {
      const attendance = await fetchAttendance(this.#room, this.#token, 'json');
      this.#render(attendance);
      setText(this.#status, 'briefing.attendance_loaded', {
        time: formatClock(Date.now()),
      });
    } catch {
      setText(this.#status, 'briefing.attendance_failed');
    }
  }

  async #download() {
    try {
      const blob = await fetchAttendance(this.#room, this.#token, 'csv');
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `attendance-${this.#room}.csv`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch {
      setText(this.#status, 'briefing.attendance_failed');
    }
  }

  #render(attendance) {
    // The table stays hidden until the first load, so that no empty header shows.
    this.#table.closest('table').hidden = false;
    this.#table.replaceChildren();
    for (const person of attendance.people) {
      for (const stay of person.sessions) {
        const row = document.createElement('tr');
        row.dataset.testid = 'attendance-row';
        row.dataset.identity = person.identity;
        const joined = formatTime(stay.joined_unix_ms);
        const cells = [person.name, null, joined, formatTime(stay.left_unix_ms)];
        for (const [index, text] of cells.entries()) {
          const cell = document.createElement('td');
          if (index === 1) {
            setText(cell, `role.${person.role}`);
          } else {
            cell.textContent = text;
          }
          row.append(cell);
        }
        this.#table.append(row);
      }
    }
  }
}
