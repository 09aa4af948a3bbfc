// The "verify" button: requests a re-hash of every segment of a recording and a check of
// the hash chain, then shows that all is well or lists the problems.

import { setText } from './i18n.js';

function problemList(problems) {
  const list = document.createElement('ul');
  list.className = 'verify-problems';
  for (const problem of problems) {
    const item = document.createElement('li');
    item.textContent = problem;
    list.append(item);
  }
  return list;
}

export class VerifyButton {
  #button;
  #result;
  #verify;
  #outcome = null; // {report} or {error}
  #destroyed = false;

  /**
   * @param {HTMLButtonElement} button
   * @param {HTMLElement} result where the outcome appears (a live region)
   * @param {() => Promise<object>} verify fetches the recording's VerifyReport
   */
  constructor(button, result, verify) {
    this.#button = button;
    this.#result = result;
    this.#verify = verify;
    button.onclick = () => this.#run();
    button.disabled = false;
    result.hidden = true;
  }

  #render() {
    const outcome = this.#outcome;
    if (outcome === null) {
      return;
    }
    if (outcome.error) {
      const denied = ['unauthorized', 'forbidden'].includes(outcome.error?.kind);
      const key = denied ? 'verify.no_access' : 'verify.failed';
      this.#show('error', key);
    } else if (outcome.report.ok) {
      this.#show('ok', 'verify.ok', { count: outcome.report.segments_checked });
    } else {
      const list = problemList(outcome.report.problems ?? []);
      this.#show('problems', 'verify.problems', { count: outcome.report.segments_checked }, list);
    }
  }

  /** Detaches from the button, so a check still under way shows nothing when it ends. */
  destroy() {
    this.#button.onclick = null;
    this.#destroyed = true;
  }

  async #run() {
    this.#button.disabled = true;
    this.#show('running', 'verify.running');
    try {
      this.#outcome = { report: await this.#verify() };
    } catch (error) {
      this.#outcome = { error };
    }
    if (!this.#destroyed) {
      this.#button.disabled = false;
      this.#render();
    }
  }

  #show(outcome, key, vars = {}, details = null) {
    const summary = document.createElement('p');
    setText(summary, key, vars);
    this.#result.replaceChildren(...(details ? [summary, details] : [summary]));
    this.#result.dataset.outcome = outcome;
    this.#result.hidden = false;
  }
}
