/** Box tool (X): drag a rectangle; it becomes a "rect" region of the current class. */
import { hasArea, rectCorners } from "../geometry.js";

/**
 * What a tool that drags a rectangle shares (box, quick outline): the draft starts where the press was and
 * follows the pointer; `finish(viewer, draft)` takes the released rectangle; a cancel drops it.
 */
export function rectangleDrag(kind, finish) {
  return {
    startShape(v, drag, startPoint) {
      v.draft = { kind, key: drag.key, points: [startPoint, startPoint] };
      drag.mode = kind;
    },
    gestures: {
      [kind]: {
        move(v, drag, p) {
          if (v.draft) v.draft.points[1] = v.clampToImage(v.toImage(p.sx, p.sy, drag.t));
        },
        end(v) {
          const d = v.draft;
          v.draft = null;
          if (d) finish(v, d);
        },
        cancel(v) { v.draft = null; },
      },
    },
  };
}

export const box = {
  name: "box", key: "x", button: "Box", tooltip: "Box: drag a rectangle", drawing: true,
  ...rectangleDrag("box", (v, d) => {
    const [[ax, ay], [bx, by]] = d.points;
    const corners = rectCorners(ax, ay, bx, by);
    if (hasArea(corners)) v.addRegion(d.key, "rect", corners);
  }),
};
