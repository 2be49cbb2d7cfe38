/** Brush tool (E): paint onto the selected region (Shift erases, [ ] size). The stroke is painted into a
 * mask at image resolution and traced back to one polygon when it ends (one undo step). */
import { hasArea, regionVertices } from "../geometry.js";
import { fillPolygon, growBox, stampCapsule, traceMask } from "../mask.js";

/** "#rrggbb" → [r, g, b]. */
function hexRgb(color) {
  const v = parseInt(String(color).slice(1), 16);
  return Number.isFinite(v) ? [(v >> 16) & 255, (v >> 8) & 255, v & 255] : [255, 255, 255];
}

/**
 * A brush stroke: on the selected region of this slice (Shift: erase from it; without a selection the
 * eraser takes the region under the pointer), else a new region of the current class. The stroke is
 * painted into a mask at image resolution; the shapes change once, when it ends.
 */
function beginBrush(v, start, ix, iy) {
  const key = v.currentKey();
  const regions = v.shapes[key] || [];
  const sel = v.selection;
  const erase = !!start.shiftKey;
  let index = sel && sel.key === key && regions[sel.index] ? sel.index : -1;
  if (index < 0 && erase) index = v.regionAt(ix, iy);
  if (index < 0 && erase) {
    v.beginDrag({ ...start, mode: "press", key }); // nothing to erase: a click (deselects)
    return;
  }
  const { rows, cols } = v.imageSize();
  const mask = new Uint8Array(rows * cols);
  const region = index >= 0 ? regions[index] : null;
  const { box, count } = region ? fillPolygon(mask, cols, rows, regionVertices(region)) : { box: null, count: 0 };
  const label = region ? region.label : v.className;
  const drag = {
    ...start, mode: "brush", key, index, region, erase, mask, rows, cols, box, count, changed: 0,
    radius: Math.max(v.brushSize / start.t.scale, 0.75), last: [ix, iy], before: v.snapshot(),
    label, color: hexRgb(v.colorOf(label)), preview: null,
  };
  v.beginDrag(drag);
  if (box) paintPreview(v, drag, box);
  brushTo(v, drag, ix, iy);
}

/** Sweep the brush disc from the last point to (ix, iy). */
function brushTo(v, drag, ix, iy) {
  const [lx, ly] = drag.last;
  drag.last = [ix, iy];
  const value = drag.erase ? 0 : 1;
  const touched = stampCapsule(drag.mask, drag.cols, drag.rows, lx, ly, ix, iy, drag.radius, value, drag);
  if (!touched) return;
  if (drag.erase) {
    // Erasing only shrinks the region: nothing to repaint outside it.
    const b = drag.box;
    if (!b) return;
    const clipped = [Math.max(b[0], touched[0]), Math.max(b[1], touched[1]), Math.min(b[2], touched[2]),
      Math.min(b[3], touched[3])];
    if (clipped[2] >= clipped[0] && clipped[3] >= clipped[1]) paintPreview(v, drag, clipped);
  } else {
    drag.box = growBox(drag.box, touched[0], touched[1], touched[2], touched[3]);
    paintPreview(v, drag, touched);
  }
}

/** Copy part of the stroke's mask ([c0, r0, c1, r1]) into its preview canvas (grown as needed). */
function paintPreview(v, drag, [c0, r0, c1, r1]) {
  let p = drag.preview;
  if (!p || c0 < p.x0 || r0 < p.y0 || c1 >= p.x0 + p.w || r1 >= p.y0 + p.h) {
    const pad = Math.max(32, p ? (p.w + p.h) >> 3 : 0); // grow with room: a stroke moves on
    const x0 = Math.max(0, Math.min(c0, p ? p.x0 : c0) - pad);
    const y0 = Math.max(0, Math.min(r0, p ? p.y0 : r0) - pad);
    const x1 = Math.min(drag.cols - 1, Math.max(c1, p ? p.x0 + p.w - 1 : c1) + pad);
    const y1 = Math.min(drag.rows - 1, Math.max(r1, p ? p.y0 + p.h - 1 : r1) + pad);
    const canvas = document.createElement("canvas");
    canvas.width = x1 - x0 + 1;
    canvas.height = y1 - y0 + 1;
    const ctx = canvas.getContext("2d");
    if (p) ctx.drawImage(p.canvas, p.x0 - x0, p.y0 - y0); // what was painted so far
    p = drag.preview = { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1, canvas, ctx };
  }
  const w = c1 - c0 + 1, h = r1 - r0 + 1;
  const image = new ImageData(w, h);
  const out = new Uint32Array(image.data.buffer);
  const [R, G, B] = drag.color;
  const on = (0xff000000 | (B << 16) | (G << 8) | R) >>> 0;
  const { mask, cols } = drag;
  for (let r = 0; r < h; r++) {
    const from = (r + r0) * cols + c0, to = r * w;
    for (let c = 0; c < w; c++) if (mask[from + c]) out[to + c] = on;
  }
  p.ctx.putImageData(image, c0 - p.x0, r0 - p.y0);
}

/** End of a stroke: trace the mask back to one polygon and make it one undo step. */
function finishBrush(v, drag) {
  const key = drag.key;
  const regions = v.shapes[key] || [];
  if (drag.index >= 0 && regions[drag.index] !== drag.region) return; // replaced meanwhile (undo, rerun)
  const [ix, iy] = v.toImage(drag.sx, drag.sy, drag.t);
  if (!drag.moved && key === v.currentKey()) {
    // A click on another region selects it (that is how the brush picks the region it edits).
    const hit = v.regionAt(ix, iy);
    if (hit >= 0 && hit !== drag.index) {
      v.selection = { key, index: hit };
      return;
    }
  }
  const traced = drag.changed ? traceMask(drag.mask, drag.cols, drag.rows, drag.box) : null;
  // Unchanged outline: no pixel changed, or only a part apart from the region was added (the largest part
  // wins), or only a hole was erased (one outline: holes are filled). Adding only grows and erasing only
  // shrinks the filled outline, so the same pixel count means the same pixels.
  const unchanged = !drag.changed || (drag.index >= 0 && traced && traced.filled === drag.count);
  if (unchanged) {
    if (!drag.moved && v.regionAt(ix, iy) < 0) v.selection = null; // a click beside: deselect
    return;
  }
  const points = traced && traced.points.length >= 3 && hasArea(traced.points) ? traced.points : null;
  const before = drag.before;
  if (drag.index >= 0) {
    if (points) {
      regions[drag.index] = { ...drag.region, shape: "polygon", points };
      v.selection = { key, index: drag.index };
    } else {
      regions.splice(drag.index, 1); // erased away
      v.selection = null;
    }
  } else if (points) {
    if (!v.shapes[key]) v.shapes[key] = [];
    v.shapes[key].push({ label: drag.label, shape: "polygon", points });
    v.selection = { key, index: v.shapes[key].length - 1 };
  }
  v.commitEdit(before);
}

export const brush = {
  name: "brush", key: "e", button: "Brush", drawing: false,
  tooltip: "Brush: paint onto the selected region (Shift erases, [ ] size)",
  press(v, start, ix, iy) {
    beginBrush(v, start, ix, iy);
    return true;
  },
  gestures: {
    brush: {
      move(v, drag, p) {
        const [ix, iy] = v.toImage(p.sx, p.sy, drag.t);
        brushTo(v, drag, ix, iy);
      },
      end(v, drag) { finishBrush(v, drag); },
      // A stroke only touches the shapes when it ends: nothing to put back.
    },
  },
};
