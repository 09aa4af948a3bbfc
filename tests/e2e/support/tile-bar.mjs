// How the bar under a tile's video fits the tile: the name, the connection quality and the
// talk and mute buttons.

// The narrowest column of the tile grid, from `.tile-grid` in web-client/style.css.
export const MIN_TILE_WIDTH = '300px';

/**
 * Returns how the bar of the tile of `identity` fits the tile while the tile grid is
 * `gridWidth` wide, or as wide as the page makes it for an empty string. `nameWidth` is the
 * name's width in pixels, and `nameCut` is true when the name does not fit its box. `cut`
 * lists the text of each visible control that reaches past the tile's edges or does not fit
 * its box.
 */
export function readTileBar(browserPage, identity, gridWidth = '') {
  return browserPage.page.evaluate(
    ({ identity, gridWidth }) => {
      const grid = document.getElementById('grid');
      grid.style.width = gridWidth;
      const tile = grid.querySelector(
        `[data-testid="tile"][data-identity="${CSS.escape(identity)}"]`,
      );
      const edges = tile.getBoundingClientRect();
      const name = tile.querySelector('.tile-name');
      const controls = tile.querySelectorAll('.tile-bar button, .tile-bar .tile-quality');
      const cut = [...controls]
        .filter((control) => control.checkVisibility())
        .filter((control) => {
          const box = control.getBoundingClientRect();
          const outside =
            box.left < edges.left ||
            box.right > edges.right ||
            box.top < edges.top ||
            box.bottom > edges.bottom;
          return outside || control.scrollWidth > control.clientWidth;
        })
        .map((control) => control.textContent);
      const bar = {
        nameWidth: name.getBoundingClientRect().width,
        nameCut: name.scrollWidth > name.clientWidth || name.scrollHeight > name.clientHeight,
        cut,
      };
      grid.style.width = '';
      return bar;
    },
    { identity, gridWidth },
  );
}
