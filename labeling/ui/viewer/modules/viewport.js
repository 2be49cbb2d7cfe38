/** The Viewer's viewport: window/level (the VOI applied into an offscreen layer) and geometry — panes,
 * the screen ↔ image transform, zoom about a point, fit. */

import { MAX_LUT_SIZE, packGrey, validWindow, voiFunction } from "./voi.js";
import { clamp, round2 } from "./geometry.js";
import { PANE_GAP, ZOOM_MAX, ZOOM_MIN } from "./common.js";

export class Viewport {
  // ----- window / level ----------------------------------------------------------------------------------

  defaultWindow(slice, pixels) {
    const w = slice && validWindow(slice.default_window);
    if (w) return w;
    if (pixels) return { center: (pixels.min + pixels.max) / 2, width: Math.max(pixels.max - pixels.min, 1) };
    return null;
  }

  /** The window in use for a slice: the user's, else the slice's default. */
  windowFor(slice, pixels) {
    return this.window || this.defaultWindow(slice, pixels);
  }

  valueRange() {
    const pixels = this.pixelsOf(this.current) || this.pixelsOf(this.nearestLoaded());
    if (pixels) return Math.max(pixels.max - pixels.min, 1);
    const w = this.windowFor(this.current, null);
    return w ? Math.max(w.width * 2, 1) : 256;
  }

  setWindow(win, { send = false } = {}) {
    this.window = { center: round2(win.center), width: Math.max(1, round2(win.width)) };
    this.schedule();
    if (send) this.sendWindow();
  }

  sendWindow() {
    const win = this.windowFor(this.current, this.pixelsOf(this.current));
    if (!win) return;
    this.setState("window", { modality: this.data.modality || "", center: win.center, width: win.width });
  }

  isRgb(slice, pixels) {
    return (pixels && pixels.samples === 3) || (slice && (slice.photometric === "RGB" || slice.samples === 3));
  }

  /** Window a slice into a pane's offscreen canvas (skipped when it already shows that slice and window). */
  renderOffscreen(layer, slice, pixels) {
    const rgb = this.isRgb(slice, pixels);
    const win = rgb ? null : this.windowFor(slice, pixels);
    const invert = slice.photometric === "MONOCHROME1";
    // The file's VOI LUT is the default rendering until the user picks a window (as the standard says).
    const lut = !rgb && !this.window && slice.voi_lut && Array.isArray(slice.voi_lut.data) ? slice.voi_lut : null;
    const key = rgb ? "rgb" : lut ? `voi-lut|${invert}` : `${win.center}|${win.width}|${invert}`;
    if (layer.rendered && layer.rendered.id === slice.image_id && layer.rendered.key === key &&
        layer.rendered.pixels === pixels) return;

    const { rows, cols } = pixels;
    if (!layer.imageData || layer.imageData.width !== cols || layer.imageData.height !== rows) {
      layer.off.width = cols;
      layer.off.height = rows;
      layer.imageData = new ImageData(cols, rows);
      layer.out32 = new Uint32Array(layer.imageData.data.buffer);
    }
    if (rgb) this.copyRgb(layer, pixels);
    else if (lut) this.applyVoiLut(layer, pixels, lut, invert);
    else this.applyWindow(layer, pixels, win, invert);
    layer.offCtx.putImageData(layer.imageData, 0, 0);
    layer.rendered = { id: slice.image_id, key, pixels };
  }

  copyRgb(layer, pixels) {
    const src = pixels.values, dst = layer.imageData.data;
    for (let i = 0, j = 0; j < dst.length; i += 3, j += 4) {
      dst[j] = src[i];
      dst[j + 1] = src[i + 1];
      dst[j + 2] = src[i + 2];
      dst[j + 3] = 255;
    }
  }

  /** The file's VOI LUT (first mapped value, table, largest output): index clipped to the table, then 0..255. */
  applyVoiLut(layer, pixels, lut, invert) {
    const src = pixels.values, out = layer.out32, n = out.length;
    const table = lut.data, last = table.length - 1, first = lut.first, scale = 255 / Math.max(lut.max, 1);
    for (let i = 0; i < n; i++) {
      let index = Math.round(src[i]) - first;
      index = index < 0 ? 0 : index > last ? last : index;
      let y = Math.round(table[index] * scale);
      y = y < 0 ? 0 : y > 255 ? 255 : y;
      out[i] = packGrey(invert ? 255 - y : y);
    }
  }

  /** Grey windowing: a LUT over [min, max] for integer types, the formula per value for floats. */
  applyWindow(layer, pixels, win, invert) {
    const src = pixels.values, out = layer.out32, n = out.length;
    const voi = voiFunction(win.center, win.width, invert);
    const span = pixels.max - pixels.min + 1;
    if (pixels.integer && span <= MAX_LUT_SIZE) {
      const table = this.lutFor(layer, pixels.min, span, win, invert, voi);
      const min = pixels.min;
      for (let i = 0; i < n; i++) out[i] = table[src[i] - min];
    } else {
      for (let i = 0; i < n; i++) {
        const v = src[i];
        out[i] = packGrey(v === v ? voi(v) : 0); // NaN → black
      }
    }
  }

  lutFor(layer, min, span, win, invert, voi) {
    const key = `${min}|${span}|${win.center}|${win.width}|${invert}`;
    if (layer.lut && layer.lut.key === key) return layer.lut.table;
    const table = layer.lut && layer.lut.table.length >= span ? layer.lut.table : new Uint32Array(span);
    for (let i = 0; i < span; i++) table[i] = packGrey(voi(min + i));
    layer.lut = { key, table };
    return table;
  }

  // ----- geometry ----------------------------------------------------------------------------------------

  /** Image size of a slice (from data; the decoded pixels if data lacks it); the shown slice by default. */
  imageSize(slice = this.current) {
    const pixels = this.pixelsOf(slice);
    const rows = (slice && slice.rows) || (pixels && pixels.rows) || 1;
    const cols = (slice && slice.cols) || (pixels && pixels.cols) || 1;
    return { rows, cols };
  }

  /** Screen rectangles (CSS px, root-relative) of the panes: the prior on the left while shown. */
  panes() {
    const { w, h } = this.size;
    if (!this.priorShown()) return { current: { x: 0, y: 0, w, h }, prior: null };
    const left = Math.max(0, Math.floor((w - PANE_GAP) / 2));
    return {
      prior: { x: 0, y: 0, w: left, h },
      current: { x: left + PANE_GAP, y: 0, w: Math.max(0, w - left - PANE_GAP), h },
    };
  }

  /** Which pane a screen point is over. */
  paneAt(sx) {
    const { prior } = this.panes();
    return prior && sx < prior.x + prior.w + PANE_GAP / 2 ? "prior" : "current";
  }

  /**
   * The view transform of a pane in CSS px: screen = offset + image * scale. Both panes share zoom (as a
   * factor of each one's fit) and pan.
   */
  transform(pane = "current") {
    const rect = this.panes()[pane] || this.panes().current;
    const { rows, cols } = this.imageSize(pane === "prior" ? this.priorCurrent : this.current);
    const fit = rect.w > 0 && rect.h > 0 ? Math.min(rect.w / cols, rect.h / rows) : 1;
    const scale = fit * this.view.zoom;
    return {
      scale,
      offsetX: rect.x + (rect.w - cols * scale) / 2 + this.view.panX,
      offsetY: rect.y + (rect.h - rows * scale) / 2 + this.view.panY,
      rows,
      cols,
      rect,
    };
  }

  toImage(sx, sy, t = this.transform()) {
    return [(sx - t.offsetX) / t.scale, (sy - t.offsetY) / t.scale];
  }

  toScreen(x, y, t = this.transform()) {
    return [t.offsetX + x * t.scale, t.offsetY + y * t.scale];
  }

  /** Zoom to `zoom` (1 = fit) keeping the image point under (sx, sy) (in either pane) where it is. */
  zoomAbout(zoom, sx, sy) {
    const pane = this.paneAt(sx);
    const t = this.transform(pane);
    const [ix, iy] = this.toImage(sx, sy, t);
    this.view.zoom = clamp(zoom, ZOOM_MIN, ZOOM_MAX);
    const t2 = this.transform(pane);
    // Solve offset' = s - i * scale' for the pan that keeps (ix, iy) under the cursor.
    this.view.panX += sx - ix * t2.scale - t2.offsetX;
    this.view.panY += sy - iy * t2.scale - t2.offsetY;
    this.schedule();
  }

  zoomBy(factor) {
    const rect = this.panes().current;
    this.zoomAbout(this.view.zoom * factor, rect.x + rect.w / 2, rect.y + rect.h / 2);
  }

  fit() {
    this.view = { zoom: 1, panX: 0, panY: 0 };
    this.schedule();
  }

  eventPoint(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  /** Clamp an image point into the image (the shown slice's, or the prior pane's). */
  clampToImage([x, y], pane = "current") {
    const { rows, cols } = this.imageSize(pane === "prior" ? this.priorCurrent : this.current);
    return [clamp(x, 0, cols), clamp(y, 0, rows)];
  }
}
