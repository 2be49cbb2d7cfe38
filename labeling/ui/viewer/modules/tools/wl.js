/** Window/level tool (W; the right button with any tool): drag across for the width, down for the centre. */
export const WL_DRAG_SPAN = 512; // a drag this many px long moves the window by the whole value range

function report(v, drag) {
  if (drag.moved) v.sendWindow();
}

export const wl = {
  name: "wl", key: "w", button: "W/L", tooltip: "Window/level: drag (right drag does it with any tool)", drawing: false,
  gestures: {
    wl: {
      move(v, drag, p) {
        // dx → width, dy → centre, scaled to the value range (Cornerstone convention: down = higher centre).
        const perPixel = v.valueRange() / WL_DRAG_SPAN;
        v.setWindow({ center: drag.from.center + p.dy * perPixel, width: drag.from.width + p.dx * perPixel });
      },
      end: report,
      cancel: report,
    },
  },
};
