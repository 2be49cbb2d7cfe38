/** Polygon tool (P): click the vertices; a click on the first one (or Enter, or a double-click) closes it. */
export const CLOSE_HIT = 8; // screen px around a polygon's first vertex that closes it

export const polygon = {
  name: "polygon", key: "p", button: "Polygon", drawing: true,
  tooltip: "Polygon: click the vertices, click the first one (or Enter) to close",
  /** While a polygon is being drawn, every press is a click on it. */
  press(v, start) {
    if (!(v.draft && v.draft.kind === "polygon")) return false;
    v.beginDrag({ ...start, mode: "polygon-click" });
    return true;
  },
  /** A click beside every region starts a polygon there. */
  clickEmpty(v, ix, iy) {
    const point = v.clampToImage([ix, iy]);
    v.draft = { kind: "polygon", key: v.currentKey(), points: [point], hover: point };
  },
  gestures: {
    "polygon-click": {
      move(v, drag, p) {
        if (v.draft) v.draft.hover = v.clampToImage(v.toImage(p.sx, p.sy, drag.t));
      },
      /** Close it on its first vertex, else add a vertex. */
      end(v, drag) {
        const d = v.draft;
        if (!d || d.kind !== "polygon") return;
        const t = drag.t;
        const [fx, fy] = v.toScreen(d.points[0][0], d.points[0][1], t);
        if (d.points.length >= 3 && Math.hypot(fx - drag.sx, fy - drag.sy) <= CLOSE_HIT) {
          v.closePolygon();
          return;
        }
        const last = d.points[d.points.length - 1];
        const [lx, ly] = v.toScreen(last[0], last[1], t);
        if (Math.hypot(lx - drag.sx, ly - drag.sy) < 2) return; // the 2nd click of a double-click
        d.points.push(v.clampToImage(v.toImage(drag.sx, drag.sy, t)));
      },
    },
  },
};
