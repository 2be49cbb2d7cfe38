/** Box tool (X): drag a rectangle; it becomes a "rect" region of the current class. */
import { hasArea, rectCorners } from "../geometry.js";

export const box = {
  name: "box", key: "x", button: "Box", tooltip: "Box: drag a rectangle", drawing: true,
  /** A press that moved: the rectangle starts where it was pressed. */
  startShape(v, drag, startPoint) {
    v.draft = { kind: "box", key: drag.key, points: [startPoint, startPoint] };
    drag.mode = "box";
  },
  gestures: {
    box: {
      move(v, drag, p) {
        if (v.draft) v.draft.points[1] = v.clampToImage(v.toImage(p.sx, p.sy, drag.t));
      },
      end(v) {
        const d = v.draft;
        v.draft = null;
        if (!d) return;
        const [[ax, ay], [bx, by]] = d.points;
        const corners = rectCorners(ax, ay, bx, by);
        if (hasArea(corners)) v.addRegion(d.key, "rect", corners);
      },
      cancel(v) { v.draft = null; },
    },
  },
};
