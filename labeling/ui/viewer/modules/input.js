/** The Viewer's input: pointer events routed to the active tool's gestures (./tools/), the wheel, and
 * the keyboard. */

import { ACTION_KEYS, DRAWING_TOOLS, LABEL_KEYS, TOOL_KEYS, usesArrowKeys } from "./keys.js";
import { validWindow } from "./voi.js";
import { deepCopy, hasArea, rectCorners, regionContains, regionVertices, round2 } from "./geometry.js";
import { BRUSH_SIZES, CLICK_SLOP, HANDLE_HIT, PROMPT_TEXT, ZOOM_STEP, normalizedDelta } from "./common.js";
import { GESTURES, TOOL_BY_NAME } from "./tools/index.js";

export class Input {
  // ----- pointer input -----------------------------------------------------------------------------------

  onPointerDown(e) {
    if (!this.current) return;
    this.root.focus({ preventScroll: true }); // take focus off page buttons (Space would press them)
    if (!this.prompt.hidden) this.hidePrompt();
    const [sx, sy] = this.eventPoint(e);
    const pane = this.paneAt(sx);
    const t = this.transform(pane);
    const start = { sx, sy, t, pane, pointerId: e.pointerId, moved: false, shiftKey: e.shiftKey };

    if (e.button === 2 || (e.button === 0 && this.tool === "wl" && !this.spaceHeld)) {
      this.beginDrag({ ...start, mode: "wl", from: this.windowFor(this.current, this.pixelsOf(this.current)) });
    } else if (e.button === 1 || (e.button === 0 && (this.spaceHeld || this.tool === "pan"))) {
      this.beginDrag({ ...start, mode: "pan", from: { ...this.view } });
    } else if (e.button === 0 && pane === "prior") {
      // The prior pane is for reading: no drawing there, but lengths can be measured.
      if (this.tool !== "length" || !this.priorCurrent) return;
      this.beginDrag({ ...start, mode: "press", key: "" });
    } else if (e.button === 0) {
      this.beginToolDrag(start);
    } else {
      return;
    }
    e.preventDefault();
    if (this.drag) {
      try { this.canvas.setPointerCapture(e.pointerId); } catch (_) { /* pointer gone */ }
    }
  }

  beginDrag(drag) {
    if (drag.mode === "wl" && !drag.from) return; // nothing loaded yet
    this.drag = drag;
    this.root.dataset.dragging = drag.mode;
  }

  /** Left button with a drawing tool: a handle, the selected region, a polygon vertex, or a new shape. */
  beginToolDrag(start) {
    const key = this.currentKey();
    const [ix, iy] = this.toImage(start.sx, start.sy, start.t);
    const tool = TOOL_BY_NAME[this.tool];
    if (tool && tool.press && tool.press(this, start, ix, iy)) return; // the tool's own press (length, brush, a polygon being drawn)
    const sel = this.selection;
    const region = sel && sel.key === key ? (this.shapes[key] || [])[sel.index] : null;
    if (region) {
      if (sel.fresh) this.selection = { key: sel.key, index: sel.index }; // pressed on: now chosen by the reader
      const vertex = this.handleAt(region, start.sx, start.sy, start.t);
      if (vertex >= 0) {
        this.beginDrag({ ...start, mode: "vertex", vertex, before: this.snapshot(), key, index: sel.index });
        return;
      }
      if (regionContains(region, ix, iy)) {
        this.beginDrag({ ...start, mode: "move", before: this.snapshot(), key, index: sel.index,
          origin: deepCopy(region.points) });
        return;
      }
    }
    // Otherwise: a press that becomes a shape once it moves, or a click (select) if it does not.
    this.beginDrag({ ...start, mode: "press", key });
  }

  handleAt(region, sx, sy, t) {
    const vertices = regionVertices(region);
    let best = -1, bestDistance = HANDLE_HIT;
    vertices.forEach(([x, y], i) => {
      const [hx, hy] = this.toScreen(x, y, t);
      const d = Math.hypot(hx - sx, hy - sy);
      if (d <= bestDistance) { best = i; bestDistance = d; }
    });
    return best;
  }

  /** The topmost region of the shown slice under an image point, or -1. */
  regionAt(ix, iy) {
    const regions = this.shapes[this.currentKey()] || [];
    for (let i = regions.length - 1; i >= 0; i--) if (regionContains(regions[i], ix, iy)) return i;
    return -1;
  }

  onPointerMove(e) {
    const [sx, sy] = this.eventPoint(e);
    this.cursor = { sx, sy };
    this.shiftHeld = e.shiftKey;
    const drag = this.drag;
    if (!drag) {
      this.updateHover(sx, sy);
      if (this.draft && this.draft.kind === "polygon" && this.paneAt(sx) === "current") {
        this.draft.hover = this.clampToImage(this.toImage(sx, sy));
      }
      this.schedule();
      return;
    }
    const dx = sx - drag.sx, dy = sy - drag.sy;
    if (!drag.moved && Math.hypot(dx, dy) >= CLICK_SLOP) drag.moved = true;
    const gesture = GESTURES[drag.mode];
    if (gesture && gesture.move) gesture.move(this, drag, { sx, sy, dx, dy });
    this.schedule();
  }

  /** A press that moved: the tool's shape starts (box, outline, freehand, length; a polygon waits for the release). */
  startShape(drag) {
    const tool = TOOL_BY_NAME[this.tool];
    if (!tool || !tool.startShape) return;
    tool.startShape(this, drag, this.clampToImage(this.toImage(drag.sx, drag.sy, drag.t)));
  }

  moveVertex(drag, [x, y]) {
    const region = this.shapes[drag.key][drag.index];
    if (region.shape === "rect") {
      // The opposite corner stays; the dragged one follows (it may become another corner when crossing).
      const corners = regionVertices(region);
      const [ox, oy] = corners[(drag.vertex + 2) % 4];
      const next = rectCorners(round2(ox), round2(oy), round2(x), round2(y));
      region.points = next;
      const fixed = next.findIndex(([a, b]) => a === round2(ox) && b === round2(oy));
      drag.vertex = (fixed + 2) % 4;
    } else {
      region.points[drag.vertex] = [round2(x), round2(y)];
    }
  }

  // ----- brush / eraser ----------------------------------------------------------------------------------

  setBrushSize(size) {
    this.brushSize = size;
    this.syncAttributes();
    this.schedule();
  }

  onPointerUp(e) {
    const drag = this.drag;
    if (!drag) return;
    this.drag = null;
    delete this.root.dataset.dragging;
    try { this.canvas.releasePointerCapture(e.pointerId); } catch (_) { /* already released */ }
    const [sx, sy] = this.eventPoint(e);
    const gesture = GESTURES[drag.mode];
    if (gesture && gesture.end) gesture.end(this, drag, { sx, sy });
    this.schedule();
  }

  onPointerCancel() {
    this.cancelDrag();
  }

  /** Abandon the pointer interaction in progress (a moved region goes back where it was). */
  cancelDrag() {
    const drag = this.drag;
    this.drag = null;
    delete this.root.dataset.dragging;
    if (!drag) return false;
    const gesture = GESTURES[drag.mode];
    if (gesture && gesture.cancel) gesture.cancel(this, drag);
    this.schedule();
    return true;
  }

  onPointerLeave() {
    this.cursor = null;
    if (this.draft && this.draft.kind === "polygon") this.draft.hover = null;
    this.schedule();
  }

  /** A press that did not move: select the region under it (or deselect); the polygon tool starts one. */
  click(sx, sy, drag) {
    const [ix, iy] = this.toImage(sx, sy, drag.t);
    const hit = this.regionAt(ix, iy);
    if (hit >= 0) {
      this.selection = { key: this.currentKey(), index: hit };
    } else if (TOOL_BY_NAME[this.tool] && TOOL_BY_NAME[this.tool].clickEmpty) {
      this.selection = null;
      TOOL_BY_NAME[this.tool].clickEmpty(this, ix, iy);
    } else {
      this.selection = null;
    }
  }

  closePolygon() {
    const d = this.draft;
    if (!d || d.kind !== "polygon") return false;
    this.draft = null;
    if (d.points.length >= 3 && hasArea(d.points)) this.addRegion(d.key, "polygon", d.points);
    this.schedule();
    return true;
  }

  onDoubleClick(e) {
    if (this.tool === "polygon" && this.draft && this.draft.kind === "polygon") {
      e.preventDefault();
      this.closePolygon();
    }
  }

  /** Hover feedback: a move cursor over the selected region, pointer over its handles. */
  updateHover(sx, sy) {
    let hover = "";
    const sel = this.selection;
    if (this.paneAt(sx) === "prior" && !["length", "pan", "wl"].includes(this.tool) && !this.spaceHeld) hover = "prior";
    if (sel && sel.key === this.currentKey() && DRAWING_TOOLS.has(this.tool) && !this.spaceHeld &&
        this.paneAt(sx) === "current") {
      const region = (this.shapes[sel.key] || [])[sel.index];
      if (region) {
        const t = this.transform();
        const [ix, iy] = this.toImage(sx, sy, t);
        if (this.handleAt(region, sx, sy, t) >= 0) hover = "handle";
        else if (regionContains(region, ix, iy)) hover = "region";
      }
    }
    if (hover) this.root.dataset.hover = hover;
    else delete this.root.dataset.hover;
  }

  onWheel(e) {
    if (!this.current) return;
    if (e.ctrlKey || e.metaKey) {
      // Ctrl+wheel (and trackpad pinch, which Chromium reports as ctrl+wheel): zoom about the cursor.
      e.preventDefault();
      const [sx, sy] = this.eventPoint(e);
      const delta = normalizedDelta(e, this.size.h);
      this.zoomAbout(this.view.zoom * Math.exp(-delta * 0.002), sx, sy);
      return;
    }
    if (this.slices.length < 2) return; // nothing to scroll: leave the page its scrolling
    e.preventDefault();
    const delta = normalizedDelta(e, this.size.h);
    // A wheel notch (≥ 50 px) is one slice; small trackpad deltas add up to one.
    if (Math.abs(delta) >= 50) {
      this.wheelRest = 0;
      this.goToSlice(this.index + Math.sign(delta));
    } else {
      this.wheelRest = (this.wheelRest || 0) + delta;
      if (Math.abs(this.wheelRest) >= 50) {
        this.goToSlice(this.index + Math.sign(this.wheelRest));
        this.wheelRest = 0;
      }
    }
  }

  // ----- keyboard ----------------------------------------------------------------------------------------

  /** Returns true when the key was handled (the caller then prevents its default). */
  onKey(e) {
    if (e.altKey) return false;
    const key = e.key;
    const lower = key.length === 1 ? key.toLowerCase() : key;

    if (e.ctrlKey || e.metaKey) {
      if (lower === "z" && !e.shiftKey) { this.cancelPromptForKey(); this.undo(); return true; }
      if ((lower === "z" && e.shiftKey) || (lower === "y" && !e.shiftKey)) { this.cancelPromptForKey(); this.redo(); return true; }
      return false; // Ctrl/Cmd with anything else: the browser's
    }
    if (key === " ") {
      if (!this.spaceHeld) { this.spaceHeld = true; this.root.dataset.space = "1"; }
      return true;
    }
    if (key === "Shift") {
      this.shiftHeld = true; // the brush cursor shows the eraser
      if (this.tool === "brush") this.schedule();
      return false;
    }
    if (key === "Escape") return this.escape();
    if (lower === "u" && this.allows("undo")) {
      if (e.repeat) return true;
      this.undoLastSave();
      return true;
    }
    this.cancelPromptForKey();

    if (e.shiftKey && /^Digit[1-9]$/.test(e.code)) return this.applyPreset(Number(e.code.slice(5)));
    if (TOOL_KEYS[lower]) { this.setTool(TOOL_KEYS[lower]); return true; }
    if (lower === "y") return this.togglePrior();
    if (key === "[" || key === "{" || (e.code === "BracketLeft" && !/^[a-z0-9]$/i.test(key))) {
      const smaller = BRUSH_SIZES.filter((v) => v < this.brushSize);
      this.setBrushSize(smaller.length ? smaller[smaller.length - 1] : this.brushSize);
      return true;
    }
    if (key === "]" || key === "}" || (e.code === "BracketRight" && !/^[a-z0-9]$/i.test(key))) {
      this.setBrushSize(BRUSH_SIZES.find((v) => v > this.brushSize) || this.brushSize);
      return true;
    }
    if (LABEL_KEYS[lower]) { this.toggleImageLabel(LABEL_KEYS[lower]); return true; }
    if (ACTION_KEYS[lower] && this.allows(ACTION_KEYS[lower])) {
      if (!e.repeat) this.sendAction(ACTION_KEYS[lower]);
      return true;
    }
    const cls = !e.shiftKey && this.classes.find((c) => c.key && String(c.key).toLowerCase() === lower);
    if (cls) { this.setClass(cls.name); return true; }
    switch (key) {
      case "+":
      case "=":
        this.zoomBy(ZOOM_STEP);
        return true;
      case "-":
      case "_":
        this.zoomBy(1 / ZOOM_STEP);
        return true;
      case "0":
        this.fit();
        return true;
      case "r":
      case "R":
        this.resetWindow();
        return true;
      case "ArrowUp":
      case "ArrowDown":
      case "PageUp":
      case "PageDown": {
        if (this.slices.length < 2 || (key.startsWith("Arrow") && usesArrowKeys(e))) return false;
        const step = key.startsWith("Page") ? 5 : 1;
        this.goToSlice(this.index + (key.endsWith("Up") ? -step : step));
        return true;
      }
      case "Delete":
      case "Backspace":
        return this.deleteSelected();
      case "Enter":
        return this.closePolygon();
      default:
        return false;
    }
  }

  onKeyUp(e) {
    if (e.key === "Shift") {
      this.shiftHeld = false;
      if (this.tool === "brush") this.schedule();
      return false;
    }
    if (e.key === " " && this.spaceHeld) {
      this.spaceHeld = false;
      delete this.root.dataset.space;
      return true;
    }
    return false;
  }

  escape() {
    if (!this.prompt.hidden) { this.hidePrompt(); return true; }
    if (this.drag && this.drag.mode !== "wl" && this.drag.mode !== "pan") { this.cancelDrag(); return true; }
    if (this.draft) { this.draft = null; this.schedule(); return true; }
    if (this.measures.length) { this.clearMeasures(); this.syncAttributes(); this.schedule(); return true; }
    if (this.selection) { this.selection = null; this.schedule(); return true; }
    return false;
  }

  /** `u`: with unsaved edits the first press asks (in-viewer prompt), the second sends the undo. */
  undoLastSave() {
    if (this.unsaved && this.prompt.hidden) {
      this.showPrompt();
      return;
    }
    this.hidePrompt();
    this.sendAction("undo");
  }

  showPrompt() {
    this.prompt.textContent = PROMPT_TEXT;
    this.prompt.hidden = false;
  }

  hidePrompt() {
    this.prompt.hidden = true;
  }

  cancelPromptForKey() {
    if (!this.prompt.hidden) this.hidePrompt();
  }

  onToolbarClick(e) {
    const button = e.target && e.target.closest ? e.target.closest("button[data-tool]") : null;
    if (!button) return;
    this.root.focus({ preventScroll: true });
    this.cancelPromptForKey();
    this.setTool(button.dataset.tool);
  }

  setTool(tool) {
    if (this.tool === tool) return;
    this.tool = tool;
    if (this.draft && this.draft.kind === "polygon" && tool !== "polygon") this.draft = null;
    this.syncAttributes();
    this.sendUi();
    this.schedule();
  }

  setClass(name) {
    if (this.selection && !this.selection.fresh) this.reclassSelected(name);
    if (this.className === name) return;
    this.className = name;
    this.showClass();
    this.sendUi();
    this.schedule();
  }

  toggleImageLabel(label) {
    this.imageLabel = this.imageLabel === label ? "none" : label;
    this.saveDraft();
    this.sendUi(true);
    this.schedule();
  }

  /** Shift+n: the file's presets first, then the standard ones. */
  applyPreset(n) {
    const slice = this.current;
    if (!slice || this.isRgb(slice, this.pixelsOf(slice))) return true;
    const presets = [...(slice.presets || []), ...((this.data && this.data.standard_presets) || [])];
    const preset = validWindow(presets[n - 1]);
    if (preset) this.setWindow(preset, { send: true });
    return true;
  }

  resetWindow() {
    this.window = null; // follow the slice's default again
    this.schedule();
    this.sendWindow();
  }
}
