/** The gestures every drawing tool shares: a press (a click that selects, or the start of the tool's shape
 * once it moves), moving the selected region, and dragging one of its vertices. */
import { round2 } from "../geometry.js";

function putBack(v, drag) {
  if (drag.before) v.shapes = drag.before;
}

export const EDIT_GESTURES = {
  press: {
    move(v, drag) {
      if (drag.moved) v.startShape(drag);
    },
    end(v, drag, p) {
      if (drag.pane !== "prior") v.click(p.sx, p.sy, drag);
    },
  },
  move: {
    move(v, drag, p) {
      const region = v.shapes[drag.key][drag.index];
      const ddx = p.dx / drag.t.scale, ddy = p.dy / drag.t.scale;
      region.points = drag.origin.map(([x, y]) => [round2(x + ddx), round2(y + ddy)]);
    },
    end(v, drag) { v.commitEdit(drag.before); },
    cancel: putBack,
  },
  vertex: {
    move(v, drag, p) { v.moveVertex(drag, v.clampToImage(v.toImage(p.sx, p.sy, drag.t))); },
    end(v, drag) { v.commitEdit(drag.before); },
    cancel: putBack,
  },
};
