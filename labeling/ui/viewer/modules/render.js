/** The Viewer's rendering: one frame on request (schedule → drawNow): image panes, heatmap, regions,
 * proposals, drafts, measurements, brush, overlays, and the testing contract's attributes. */

import { rectCorners, regionVertices, round2 } from "./geometry.js";
import { DEFAULT_COLOR, HANDLE_SIZE, MEASURE_COLOR, PANE_GAP, clipTo, formatNumber, setText } from "./common.js";

export class Rendering {
  // ----- drawing -----------------------------------------------------------------------------------------

  /** Coalesce redraws into one per animation frame. */
  schedule() {
    if (this.frameRequested || this.destroyed) return;
    this.frameRequested = requestAnimationFrame(() => {
      this.frameRequested = 0;
      this.drawNow();
    });
  }

  drawNow() {
    if (this.destroyed) return;
    this.remember();
    const { ctx } = this;
    const { w, h, dpr } = this.size;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);

    // The prior pane (left), clipped to its rectangle.
    const split = this.priorShown();
    let priorT = null, priorMessage = "";
    this.shownPriorId = null;
    if (split) {
      priorT = this.transform("prior");
      ctx.save();
      clipTo(ctx, priorT.rect);
      const prior = this.priorCurrent;
      const drawn = this.drawImagePane("prior", prior, this.priorSlices, this.priorIndex, priorT);
      this.shownPriorId = drawn.shownId;
      priorMessage = drawn.message;
      this.drawMeasures("prior", priorT);
      ctx.restore();
      ctx.fillStyle = "#3a3a3a"; // the divider
      ctx.fillRect(priorT.rect.x + priorT.rect.w, 0, PANE_GAP, h);
    }

    const slice = this.current;
    const t = this.transform();
    let ready = false;
    let message = "";
    this.shownId = null;
    if (split) {
      ctx.save();
      clipTo(ctx, t.rect);
    }
    if (!slice) {
      message = "no image";
    } else {
      const drawn = this.drawImagePane("current", slice, this.slices, this.index, t);
      this.shownId = drawn.shownId;
      ready = drawn.ready;
      message = drawn.message;
      this.drawProposals(t);
      this.drawReaders(t);
      this.drawRegions(t);
      this.drawDraft(t);
      this.drawBrushPreview(t);
      this.drawMeasures("current", t);
      this.drawBrushCursor(t);
    }
    if (split) ctx.restore();
    this.setMessage(message);
    this.updateOverlay(t);
    this.updatePriorOverlay(priorT, priorMessage);
    this.syncAttributes(t, ready);
  }

  /** A pane's slice (or, while it loads, the nearest loaded one of its series stretched over its extent). */
  drawImagePane(pane, slice, slices, index, t) {
    const ctx = this.ctx;
    const entry = slice && this.cache.get(slice.image_id);
    const pixels = this.pixelsOf(slice);
    const shown = pixels ? slice : this.nearestLoaded(slices, index);
    let shownId = null;
    if (shown) {
      const layer = this.layers[pane];
      this.renderOffscreen(layer, shown, this.pixelsOf(shown));
      ctx.imageSmoothingEnabled = t.scale < 1;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(layer.off, t.offsetX, t.offsetY, t.cols * t.scale, t.rows * t.scale);
      shownId = shown.image_id;
    }
    const ready = !!pixels;
    if (ready) this.drawHeatmap(slice, t);
    let message = "";
    if (!slice) message = "no image";
    else if (entry && entry.status === "error") message = `could not load this slice (${entry.error})`;
    else if (!ready) message = "loading…";
    return { ready, message, shownId };
  }

  drawHeatmap(slice, t) {
    if (!slice.heatmap) return;
    let entry = this.heatmaps.get(slice.image_id);
    if (!entry || entry.src !== slice.heatmap) {
      const img = new Image();
      entry = { src: slice.heatmap, img, ready: false };
      img.onload = () => { entry.ready = true; this.schedule(); };
      img.src = slice.heatmap;
      this.heatmaps.set(slice.image_id, entry);
    }
    if (!entry.ready) return;
    this.ctx.imageSmoothingEnabled = true; // a coarse heatmap looks better smoothed
    this.ctx.drawImage(entry.img, t.offsetX, t.offsetY, t.cols * t.scale, t.rows * t.scale);
  }

  colorOf(label) {
    const name = String(label || "").toLowerCase();
    const cls = this.classes.find((c) => String(c.name).toLowerCase() === name);
    return (cls && /^#[0-9a-f]{6}$/i.test(cls.color) && cls.color) || DEFAULT_COLOR;
  }

  drawRegions(t) {
    const key = this.currentKey();
    const regions = this.shapes[key] || [];
    const brushing = this.drag && this.drag.mode === "brush" && this.drag.key === key ? this.drag : null;
    regions.forEach((region, i) => {
      if (brushing && brushing.index === i) return; // drawn as the brush mask meanwhile
      const selected = this.selection && this.selection.key === key && this.selection.index === i;
      this.drawShape(regionVertices(region), this.colorOf(region.label), t, { closed: true, fill: true, selected });
    });
  }

  /** The model's proposals, until accepted or rejected: dashed, unfilled, on the image they were made for. */
  drawProposals(t) {
    const p = this.proposals;
    if (!p || !this.current || this.current.image_id !== p.image_id) return;
    this.ctx.setLineDash([3, 3]);
    for (const region of p.regions) this.drawShape(region.points, this.colorOf(region.label), t, { closed: true, fill: false });
    this.ctx.setLineDash([]);
  }

  drawDraft(t) {
    const pending = this.pendingOutline;
    if (pending && pending.key === this.currentKey()) this.drawDashed(pending.points, this.colorOf(this.className), t);
    const d = this.draft;
    if (!d || d.key !== this.currentKey()) return;
    const color = this.colorOf(this.className);
    if (d.kind === "outline" && d.points.length === 2) {
      const [[ax, ay], [bx, by]] = d.points;
      this.drawDashed(rectCorners(ax, ay, bx, by), color, t);
    } else if (d.kind === "box" && d.points.length === 2) {
      const [[ax, ay], [bx, by]] = d.points;
      this.drawShape(rectCorners(ax, ay, bx, by), color, t, { closed: true, fill: true });
    } else if (d.kind === "freehand") {
      this.drawShape(d.points, color, t, { closed: false, fill: false });
    } else if (d.kind === "polygon") {
      const points = d.hover ? [...d.points, d.hover] : d.points;
      this.drawShape(points, color, t, { closed: false, fill: false });
      this.drawHandles(d.points.slice(0, 1), color, t); // the first vertex: click it to close
    }
  }

  /** The Outline tool's box (a guide, not a region): dashed, unfilled. */
  drawDashed(points, color, t) {
    this.ctx.setLineDash([6, 4]);
    this.drawShape(points, color, t, { closed: true, fill: false });
    this.ctx.setLineDash([]);
  }

  drawShape(points, color, t, { closed, fill, selected = false }) {
    if (!points.length) return;
    const ctx = this.ctx;
    ctx.beginPath();
    points.forEach(([x, y], i) => {
      const sx = t.offsetX + x * t.scale, sy = t.offsetY + y * t.scale;
      if (i === 0) ctx.moveTo(sx, sy);
      else ctx.lineTo(sx, sy);
    });
    if (closed) ctx.closePath();
    if (fill) {
      ctx.globalAlpha = 0.15;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    ctx.lineWidth = selected ? 2.5 : 2;
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    ctx.strokeStyle = color;
    ctx.stroke();
    if (selected) this.drawHandles(points, color, t);
  }

  drawHandles(points, color, t) {
    const ctx = this.ctx;
    const size = points.length > 64 ? 3 : HANDLE_SIZE; // long freehand outlines: small handles
    ctx.lineWidth = 1;
    for (const [x, y] of points) {
      const sx = t.offsetX + x * t.scale, sy = t.offsetY + y * t.scale;
      ctx.fillStyle = "#000";
      ctx.fillRect(sx - size / 2, sy - size / 2, size, size);
      ctx.strokeStyle = color;
      ctx.strokeRect(sx - size / 2, sy - size / 2, size, size);
    }
  }

  /** Length measurements of a pane's slice: the line, end ticks, and its length as text next to it. */
  drawMeasures(pane, t) {
    const slice = pane === "prior" ? this.priorCurrent : this.current;
    const list = this.measures.filter((m) => m.pane === pane && slice && m.id === slice.image_id);
    const d = this.drag;
    if (d && d.mode === "length" && d.measure.pane === pane) list.push(d.measure);
    if (!list.length) return;
    const ctx = this.ctx;
    ctx.font = "12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    ctx.textBaseline = "middle";
    for (const m of list) {
      const [ax, ay] = this.toScreen(m.a[0], m.a[1], t);
      const [bx, by] = this.toScreen(m.b[0], m.b[1], t);
      const len = Math.hypot(bx - ax, by - ay) || 1;
      const nx = -(by - ay) / len * 5, ny = (bx - ax) / len * 5; // tick half-length along the normal
      ctx.beginPath();
      ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      ctx.moveTo(ax - nx, ay - ny);
      ctx.lineTo(ax + nx, ay + ny);
      ctx.moveTo(bx - nx, by - ny);
      ctx.lineTo(bx + nx, by + ny);
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.6)";
      ctx.stroke();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = MEASURE_COLOR;
      ctx.stroke();
      // The text beside the end point, on the side away from the line.
      const tx = bx + (bx >= ax ? 8 : -8), ty = by + (by >= ay ? 10 : -10);
      ctx.textAlign = bx >= ax ? "left" : "right";
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
      ctx.strokeText(m.text, tx, ty);
      ctx.fillStyle = MEASURE_COLOR;
      ctx.fillText(m.text, tx, ty);
    }
    ctx.textAlign = "left";
  }

  /** While a brush stroke is on: its mask (the edited region as it will be) in the region's colour. */
  drawBrushPreview(t) {
    const d = this.drag;
    if (!d || d.mode !== "brush" || d.key !== this.currentKey() || !d.preview) return;
    const p = d.preview;
    const ctx = this.ctx;
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = 0.45;
    ctx.drawImage(p.canvas, t.offsetX + p.x0 * t.scale, t.offsetY + p.y0 * t.scale, p.w * t.scale, p.h * t.scale);
    ctx.globalAlpha = 1;
  }

  /** The brush's circle under the pointer (brush tool, current pane). */
  drawBrushCursor(t) {
    if (this.tool !== "brush" || !this.cursor || this.spaceHeld || this.paneAt(this.cursor.sx) !== "current") return;
    const d = this.drag;
    if (d && d.mode !== "brush") return;
    const ctx = this.ctx;
    const erase = d ? d.erase : this.shiftHeld;
    ctx.beginPath();
    ctx.arc(this.cursor.sx, this.cursor.sy, this.brushSize, 0, 2 * Math.PI);
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(0, 0, 0, 0.5)";
    ctx.stroke();
    ctx.lineWidth = 1.5;
    ctx.setLineDash(erase ? [4, 3] : []);
    ctx.strokeStyle = d && d.index >= 0 ? this.colorOf(d.label) : this.brushColor();
    ctx.stroke();
    ctx.setLineDash([]);
  }

  /** The colour the brush paints in: the selected region's class, else the current class. */
  brushColor() {
    const s = this.selection;
    const region = s && s.key === this.currentKey() && (this.shapes[s.key] || [])[s.index];
    return this.colorOf(region ? region.label : this.className);
  }

  setMessage(text) {
    if (this.message.textContent !== text) this.message.textContent = text;
    this.message.hidden = !text;
  }

  /** The prior pane's corners: top-left its label, top-right `slice n/N` (and position), cursor readout. */
  updatePriorOverlay(t, message) {
    const shown = !!t;
    for (const el of [...Object.values(this.priorCorners)]) if (el.hidden === shown) el.hidden = !shown;
    if (!shown) {
      this.priorMessage.hidden = true;
      return;
    }
    const slice = this.priorCurrent;
    const tr = [`slice ${this.priorIndex + 1}/${this.priorSlices.length}`];
    if (slice && Number.isFinite(slice.position)) tr.push(`${formatNumber(slice.position)} mm`);
    setText(this.priorCorners.tl, String((this.prior && this.prior.label) || "Prior"));
    setText(this.priorCorners.tr, tr.join("\n"));
    setText(this.priorCorners.br, this.cursorText("prior", t));
    if (this.priorMessage.textContent !== message) this.priorMessage.textContent = message;
    this.priorMessage.hidden = !message;
  }

  /** The four corners of overlay text (textContent only: patient/series text comes from DICOM). */
  updateOverlay(t) {
    const data = this.data || {};
    const overlay = data.overlay || {};
    const slice = this.current;
    const tl = [overlay.patient, overlay.study_date, overlay.series].filter(Boolean);
    const tr = [];
    if (this.slices.length) tr.push(`slice ${this.index + 1}/${this.slices.length}`);
    if (slice && Number.isFinite(slice.position)) tr.push(`${formatNumber(slice.position)} mm`);
    if (overlay.view) tr.push(overlay.view);
    const bl = [];
    const pixels = this.pixelsOf(slice);
    if (slice && !this.isRgb(slice, pixels)) {
      const win = this.windowFor(slice, pixels);
      if (win) bl.push(`W ${this.formatValue(win.width)} L ${this.formatValue(win.center)}`);
    }
    bl.push(`zoom ${this.view.zoom.toFixed(2)}×`);
    setText(this.corners.tl, tl.join("\n"));
    setText(this.corners.tr, tr.join("\n"));
    setText(this.corners.bl, bl.join("\n"));
    setText(this.corners.br, this.cursorText("current", t));
  }

  /** Window values: whole numbers for wide ranges (CT HU), 2 decimals for narrow ones (e.g. SUV). */
  formatValue(v) {
    return this.valueRange() > 100 ? String(Math.round(v)) : formatNumber(v);
  }

  /** `(x, y) = value units` under the pointer, when it is over this pane. */
  cursorText(pane, t) {
    const slice = pane === "prior" ? this.priorCurrent : this.current;
    const pixels = this.pixelsOf(slice);
    if (!this.cursor || !pixels || this.paneAt(this.cursor.sx) !== pane) return "";
    const [ix, iy] = this.toImage(this.cursor.sx, this.cursor.sy, t);
    const x = Math.floor(ix), y = Math.floor(iy);
    if (x < 0 || y < 0 || x >= pixels.cols || y >= pixels.rows) return "";
    const at = y * pixels.cols + x;
    let value;
    if (pixels.samples === 3) {
      const v = pixels.values;
      value = `${v[at * 3]} ${v[at * 3 + 1]} ${v[at * 3 + 2]}`;
    } else {
      value = formatNumber(pixels.values[at]);
      const units = (this.data && this.data.units) || "";
      if (units) value += ` ${units}`;
    }
    return `(${x}, ${y}) = ${value}`;
  }

  /** The testing contract's data-* attributes on the root. */
  syncAttributes(t = this.transform(), ready = this.isDrawn()) {
    const slice = this.current;
    const win = slice ? this.windowFor(slice, this.pixelsOf(slice)) : null;
    const attrs = {
      imageId: slice ? String(slice.image_id) : "",
      sliceIndex: String(this.index),
      sliceCount: String(this.slices.length),
      windowCenter: win ? String(round2(win.center)) : "",
      windowWidth: win ? String(round2(win.width)) : "",
      zoom: String(round2(this.view.zoom)),
      scale: String(Number(t.scale.toFixed(4))),
      offsetX: String(round2(t.offsetX)),
      offsetY: String(round2(t.offsetY)),
      tool: this.tool,
      imageLabel: this.imageLabel,
      regions: String((this.shapes[this.currentKey()] || []).length),
      ready: ready ? "1" : "0",
      unsaved: this.unsaved ? "1" : "0",
      prior: this.priorShown() ? "1" : "0",
      priorImageId: this.priorSlices.length ? String(this.priorSlices[this.priorIndex].image_id) : "",
      priorSliceIndex: this.priorSlices.length ? String(this.priorIndex) : "",
      measure: this.measureText,
      brush: String(this.brushSize),
      outline: this.outlineStatus,
      readerRegions: String(this.shownReaderRegions().length),
      proposals: this.proposals && this.current && this.current.image_id === this.proposals.image_id
        ? String(this.proposals.regions.length) : "0",
    };
    const ds = this.root.dataset;
    for (const [k, v] of Object.entries(attrs)) if (ds[k] !== v) ds[k] = v;
    if (this.toolButtons) {
      for (const [tool, button] of this.toolButtons) {
        const pressed = tool === this.tool ? "true" : "false";
        if (button.getAttribute("aria-pressed") !== pressed) button.setAttribute("aria-pressed", pressed);
      }
    }
  }

  /** Whether the main canvas shows the current slice itself (not a placeholder, not another image). */
  isDrawn() {
    const slice = this.current;
    return !!slice && this.shownId === slice.image_id && !!this.pixelsOf(slice);
  }
}
