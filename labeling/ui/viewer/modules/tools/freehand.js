/** Freehand tool (F): drag an outline; it is simplified like a brush outline and becomes a "path" region. */
import { hasArea } from "../geometry.js";
import { SIMPLIFY_TOLERANCE, simplifyClosed } from "../mask.js";

export const FREEHAND_STEP = 2; // screen px between freehand points

export const freehand = {
  name: "freehand", key: "f", button: "Freehand", tooltip: "Freehand: drag an outline", drawing: true,
  startShape(v, drag, startPoint) {
    v.draft = { kind: "freehand", key: drag.key, points: [startPoint], lastScreen: [drag.sx, drag.sy] };
    drag.mode = "freehand";
  },
  gestures: {
    freehand: {
      move(v, drag, p) {
        if (!v.draft) return;
        const last = v.draft.lastScreen;
        if (Math.hypot(p.sx - last[0], p.sy - last[1]) >= FREEHAND_STEP) {
          v.draft.points.push(v.clampToImage(v.toImage(p.sx, p.sy, drag.t)));
          v.draft.lastScreen = [p.sx, p.sy];
        }
      },
      end(v) {
        const d = v.draft;
        v.draft = null;
        // Simplified like a brush outline (0.5 image px): a long drag sends hundreds of points, not thousands.
        if (d && d.points.length >= 3 && hasArea(d.points)) {
          v.addRegion(d.key, "path", simplifyClosed(d.points, SIMPLIFY_TOLERANCE));
        }
      },
      cancel(v) { v.draft = null; },
    },
  },
};
