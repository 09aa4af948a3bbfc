// The connection quality of one person on their tile: a dot with good, fair or poor, the
// figures in its tooltip, and a detail line shown while the tile is enlarged.

import { setText, t } from './i18n.js';
import { linkVars, rateReport } from './quality.js';

export class QualityBadge {
  /** The indicator, for the tile's bar. */
  indicator;
  /** The figures, one line per connection, for under the video. */
  detail;

  constructor() {
    this.indicator = document.createElement('span');
    this.indicator.className = 'tile-quality';
    this.indicator.dataset.testid = 'tile-quality';
    this.indicator.hidden = true;
    this.detail = document.createElement('div');
    this.detail.className = 'tile-quality-detail';
    this.detail.dataset.testid = 'tile-quality-detail';
    this.detail.hidden = true;
  }

  /** Shows a `connection_quality` report, or hides the badge for null. */
  show(report) {
    const known = Boolean(report?.publishing || report?.receiving);
    this.indicator.hidden = !known;
    this.detail.hidden = !known;
    if (!known) {
      return;
    }
    const level = rateReport(report);
    this.indicator.dataset.level = level;
    this.indicator.dataset.bitrateBps = String(report.publishing?.bitrate_bps ?? 0);
    setText(this.indicator, `quality.${level}`);

    const lines = [];
    if (report.publishing) {
      lines.push(['quality.sends', linkVars(report.publishing)]);
    }
    if (report.receiving) {
      lines.push(['quality.receives', linkVars(report.receiving)]);
    }
    if (report.layer) {
      lines.push(['quality.layer', { layer: report.layer }]);
    }
    this.detail.replaceChildren(
      ...lines.map(([key, vars]) => {
        const line = document.createElement('span');
        setText(line, key, vars);
        return line;
      }),
    );
    this.indicator.title = lines.map(([key, vars]) => t(key, vars)).join('\n');
  }
}
