/** Length tool (L): drag a line to measure it (mm from the slice's spacing, else px); on the prior too. */
export const length = {
  name: "length", key: "l", button: "Length", tooltip: "Length: drag a line to measure it", drawing: false,
  /** A line once it moves, a click (select) if not. */
  press(v, start) {
    v.beginDrag({ ...start, mode: "press", key: v.currentKey() });
    return true;
  },
  startShape(v, drag) {
    const slice = drag.pane === "prior" ? v.priorCurrent : v.current;
    if (!slice) return;
    const a = v.clampToImage(v.toImage(drag.sx, drag.sy, drag.t), drag.pane);
    drag.measure = { pane: drag.pane, id: slice.image_id, a, b: a, text: "" };
    drag.mode = "length";
  },
  gestures: {
    length: {
      move(v, drag, p) {
        const m = drag.measure;
        m.b = v.clampToImage(v.toImage(p.sx, p.sy, drag.t), drag.pane);
        m.text = v.lengthText(m);
        v.measureText = m.text;
      },
      end(v, drag, p) {
        const m = drag.measure;
        m.b = v.clampToImage(v.toImage(p.sx, p.sy, drag.t), drag.pane);
        m.text = v.lengthText(m);
        if (m.a[0] !== m.b[0] || m.a[1] !== m.b[1]) {
          v.measures.push(m);
          v.measureText = m.text;
        } else {
          v.measureText = v.lastMeasureText();
        }
      },
      cancel(v) { v.measureText = v.lastMeasureText(); },
    },
  },
};
