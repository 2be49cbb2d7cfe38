/** Quick outline tool (O): drag a rough box around a lesion; Python answers with its outline as a polygon. */
export const outline = {
  name: "outline", key: "o", button: "Outline", drawing: true,
  tooltip: "Quick outline: drag a rough box around a lesion, get its outline as a polygon",
  startShape(v, drag, startPoint) {
    v.draft = { kind: "outline", key: drag.key, points: [startPoint, startPoint] };
    drag.mode = "outline";
  },
  gestures: {
    outline: {
      move(v, drag, p) {
        if (v.draft) v.draft.points[1] = v.clampToImage(v.toImage(p.sx, p.sy, drag.t));
      },
      end(v) {
        const d = v.draft;
        v.draft = null;
        if (d) v.requestOutline(d.key, d.points);
      },
      cancel(v) { v.draft = null; },
    },
  },
};
