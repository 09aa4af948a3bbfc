// Connection quality of the people in a room, kept from the server's `connection_quality`
// messages, and its rating as good, fair or poor.
//
// Event: `change` (detail: `{identity, report}`) when a report arrives.

import { t } from './i18n.js';

/**
 * Loss fraction and round-trip time from which a connection rates fair or poor. The values
 * are a judgement, not a standard. They apply to the loss that RTCP receiver reports give,
 * which is what retransmission did not repair in time.
 */
export const QUALITY_THRESHOLDS = Object.freeze({
  fair: Object.freeze({ loss: 0.02, rttMs: 150 }),
  poor: Object.freeze({ loss: 0.08, rttMs: 400 }),
});

const LEVELS = ['good', 'fair', 'poor'];

/** Rates one connection's figures (`publishing` or `receiving` of a report). */
export function rateLink(link) {
  const loss = link.loss ?? 0;
  const rtt = link.rtt_ms ?? 0;
  const { fair, poor } = QUALITY_THRESHOLDS;
  if (loss >= poor.loss || rtt >= poor.rttMs) {
    return 'poor';
  }
  if (loss >= fair.loss || rtt >= fair.rttMs) {
    return 'fair';
  }
  return 'good';
}

/** Rates a report by the worse of its two connections. */
export function rateReport(report) {
  const links = [report.publishing, report.receiving].filter(Boolean);
  const worst = Math.max(0, ...links.map((link) => LEVELS.indexOf(rateLink(link))));
  return LEVELS[worst];
}

function formatBitrate(bps) {
  if (bps >= 1_000_000) {
    return t('quality.mbps', { value: (bps / 1_000_000).toFixed(1) });
  }
  return t('quality.kbps', { value: Math.round(bps / 1000) });
}

function formatMs(ms) {
  if (ms === null || ms === undefined) {
    return t('quality.unknown');
  }
  return t('quality.ms', { value: Math.round(ms) });
}

function formatLoss(loss) {
  return loss === null || loss === undefined
    ? t('quality.unknown')
    : t('quality.percent', { value: (loss * 100).toFixed(1) });
}

/** Returns the i18n variables that describe one connection's figures. */
export function linkVars(link) {
  return {
    bitrate: formatBitrate(link.bitrate_bps),
    loss: formatLoss(link.loss),
    rtt: formatMs(link.rtt_ms),
    jitter: formatMs(link.jitter_ms),
  };
}

export class QualityReports extends EventTarget {
  #reports = new Map(); // identity → latest report

  /** Keeps a `connection_quality` message and returns false for messages of other kinds. */
  handle(message) {
    if (message.type !== 'connection_quality') {
      return false;
    }
    this.#reports.set(message.identity, message);
    const detail = { identity: message.identity, report: message };
    this.dispatchEvent(new CustomEvent('change', { detail }));
    return true;
  }

  /** Returns the latest report about `identity`, or null. */
  get(identity) {
    return this.#reports.get(identity) ?? null;
  }
}
