// Renders a task's Markdown as plain DOM nodes: headings (#), bulleted and numbered lists,
// and paragraphs. Every piece of text goes in through textContent, so markup in a task,
// such as <script>, shows as the characters typed and never runs.

const HEADING = /^(#{1,3})\s+(.*)$/;
const BULLET = /^[-*]\s+(.*)$/;
const NUMBERED = /^\d+[.)]\s+(.*)$/;

function element(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/**
 * Splits the text into blocks separated by blank lines. A heading is a block of its own
 * even when the lines next to it are not blank.
 */
function blocks(text) {
  const result = [];
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    let lines = [];
    for (const line of block.split('\n').filter((each) => each.trim() !== '')) {
      if (HEADING.test(line)) {
        result.push(...(lines.length > 0 ? [lines] : []), [line]);
        lines = [];
      } else {
        lines.push(line);
      }
    }
    if (lines.length > 0) {
      result.push(lines);
    }
  }
  return result;
}

function renderBlock(lines) {
  const heading = lines.length === 1 && HEADING.exec(lines[0]);
  if (heading) {
    return element(`h${heading[1].length + 1}`, heading[2]);
  }
  for (const [pattern, tag] of [
    [BULLET, 'ul'],
    [NUMBERED, 'ol'],
  ]) {
    if (lines.every((line) => pattern.test(line))) {
      const list = element(tag);
      for (const line of lines) {
        list.append(element('li', pattern.exec(line)[1]));
      }
      return list;
    }
  }
  const paragraph = element('p');
  lines.forEach((line, index) => {
    if (index > 0) {
      paragraph.append(element('br'));
    }
    paragraph.append(document.createTextNode(line));
  });
  return paragraph;
}

/** Replaces the children of `container` with the rendered `text`. */
export function renderTaskText(container, text) {
  container.replaceChildren(...blocks(text).map(renderBlock));
}
