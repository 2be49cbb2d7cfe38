/** The Viewer's regions: edits with undo/redo, drafts kept in the tab, values sent back to Python, quick
 * outline requests and answers, length measurements. */

import { readDraft, writeDraft } from "./drafts.js";
import { bounds, canonical, deepCopy, hasArea, normalizeRegions, rectCorners, round2 } from "./geometry.js";
import { DEFAULT_COLOR, TAKEN_OUTLINES, TOAST_MS, nonce, setText } from "./common.js";

export class Regions {
  // ----- regions: edits, undo, values back ---------------------------------------------------------------

  snapshot() {
    return deepCopy(this.shapes);
  }

  /** Keep the unsaved drawing and label in the tab (or drop the draft once nothing is unsaved). */
  saveDraft() {
    if (!this.draftKey) return;
    const unsaved = canonical(this.shapes) !== canonical(this.base) || this.imageLabel !== this.baseLabel;
    writeDraft(this.draftKey, unsaved ? {
      base: canonical(this.base), baseLabel: this.baseLabel, shapes: this.shapes, imageLabel: this.imageLabel,
      index: this.index,
    } : null);
  }

  /** Take back a draft of this image that started from what is still saved; tell Python at once. */
  restoreDraft() {
    const draft = readDraft(this.draftKey);
    if (!draft) return;
    if (draft.base !== canonical(this.base) || draft.baseLabel !== this.baseLabel) {
      writeDraft(this.draftKey, null); // saved since (here or elsewhere): the draft is history
      return;
    }
    const shapes = normalizeRegions(draft.shapes);
    const label = typeof draft.imageLabel === "string" ? draft.imageLabel : this.imageLabel;
    if (canonical(shapes) === canonical(this.shapes) && label === this.imageLabel) return;
    this.shapes = shapes;
    this.imageLabel = label;
    if (Number.isInteger(draft.index) && draft.index >= 0 && draft.index < this.slices.length) this.index = draft.index;
    this.updateUnsaved();
    // After this call: Streamlit takes values set during a render poorly.
    setTimeout(() => {
      if (this.destroyed || this.draftKey !== (this.data && this.data.draft_key)) return;
      this.sendRegions();
      this.sendUi(true);
      this.showToast("Your unsaved drawing on this image was restored.");
    }, 0);
  }

  /** A short message over the image's top edge (re-classed, restored), gone after a few seconds. */
  showToast(text) {
    if (!this.toast) return;
    setText(this.toast, text);
    this.toast.hidden = false;
    if (this.toastTimer) clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toast.hidden = true; this.toastTimer = 0; }, TOAST_MS);
  }

  /** The toolbar's class chip and the root's data-class. */
  showClass() {
    if (!this.classChip) return;
    const cls = this.classes.find((c) => c.name === this.className);
    this.classSwatch.style.background = cls && cls.color ? cls.color : DEFAULT_COLOR;
    setText(this.classText, `Class: ${this.className}${cls && cls.key ? ` (${cls.key})` : ""}`);
    const about = cls && typeof cls.description === "string" ? cls.description : "";
    setText(this.classAbout, about ? `— ${about}` : "");
    this.classChip.title = about ? `${this.className}: ${about}` : "Class of new regions (class keys change it)";
    if (this.root.dataset.classDescription !== about) this.root.dataset.classDescription = about;
    if (this.root.dataset.className !== this.className) this.root.dataset.className = this.className;
  }

  /** Record a finished edit made since `before` (a snapshot): undo entry, state to Python, redraw. */
  commitEdit(before) {
    if (canonical(before) === canonical(this.shapes)) return;
    this.undoStack.push(before);
    if (this.undoStack.length > 200) this.undoStack.shift();
    this.redoStack = [];
    this.afterEdit();
  }

  afterEdit() {
    this.updateUnsaved();
    this.saveDraft();
    this.sendRegions();
    this.schedule();
  }

  undo() {
    if (!this.undoStack.length) return;
    this.redoStack.push(this.snapshot());
    this.shapes = this.undoStack.pop();
    this.fixSelection();
    this.afterEdit();
  }

  redo() {
    if (!this.redoStack.length) return;
    this.undoStack.push(this.snapshot());
    this.shapes = this.redoStack.pop();
    this.fixSelection();
    this.afterEdit();
  }

  fixSelection() {
    const s = this.selection;
    if (s && !(this.shapes[s.key] && this.shapes[s.key][s.index])) this.selection = null;
  }

  /** Add a region to slice `key` (the slice the shape was started on). */
  addRegion(key, shape, points, label = this.className) {
    const before = this.snapshot();
    if (!this.shapes[key]) this.shapes[key] = [];
    this.shapes[key].push({
      label,
      shape,
      points: points.map(([x, y]) => [round2(x), round2(y)]),
    });
    this.commitEdit(before);
  }

  deleteSelected() {
    const s = this.selection;
    if (!s || !this.shapes[s.key] || !this.shapes[s.key][s.index]) return false;
    const before = this.snapshot();
    this.shapes[s.key].splice(s.index, 1);
    this.selection = null;
    this.commitEdit(before);
    return true;
  }

  reclassSelected(name) {
    const s = this.selection;
    const region = s && this.shapes[s.key] && this.shapes[s.key][s.index];
    if (!region || region.label === name) return;
    const before = this.snapshot();
    const old = region.label;
    region.label = name;
    this.commitEdit(before);
    this.showToast(`Selected region re-classed: ${old} → ${name} (Ctrl+Z undoes)`);
  }

  updateUnsaved() {
    this.unsaved = canonical(this.shapes) !== canonical(this.base);
  }

  /**
   * Every slice that has regions, plus those that had some in this revision's data or in an earlier
   * message (sent as [] once all are deleted, so Python never falls back to their saved regions).
   */
  regionsPayload() {
    const byImage = {};
    const keys = new Set([...Object.keys(this.base), ...this.sentKeys, ...Object.keys(this.shapes)]);
    for (const key of keys) {
      const list = this.shapes[key] || [];
      if (list.length || this.base[key] || this.sentKeys.has(key)) byImage[key] = deepCopy(list);
      if (list.length) this.sentKeys.add(key);
    }
    return { revision: this.revision, image_id: this.data ? this.data.image_id : null, by_image: byImage };
  }

  sendRegions() {
    this.setState("regions", this.regionsPayload());
  }

  /** Tool and class; the image label only when it changed here (a key, a restored draft): a tool report
   * must not carry the label back, since Python may take it after a later click on the page's radio. */
  sendUi(labelChanged = false) {
    // "revision" lets Python ignore an image label left over from the previous image.
    const ui = { tool: this.tool, class_name: this.className,
      revision: this.revision, image_id: this.data ? this.data.image_id : null, nonce: nonce() };
    if (labelChanged) ui.image_label = this.imageLabel;
    this.setState("ui", ui);
  }

  setState(key, value) {
    try {
      if (this.component && this.component.setStateValue) this.component.setStateValue(key, value);
    } catch (error) {
      console.error("medal viewer: setStateValue failed", error);
    }
  }

  sendAction(type) {
    if (type === "save") this.sendRegions(); // flush first, same tick
    try {
      if (this.component && this.component.setTriggerValue) {
        // The image the viewer shows: Python refuses an action meant for another one.
        this.component.setTriggerValue("action", { type, nonce: nonce(), image_id: this.data ? this.data.image_id : null,
          revision: this.revision });
      }
    } catch (error) {
      console.error("medal viewer: setTriggerValue failed", error);
    }
  }

  // ----- quick outline -----------------------------------------------------------------------------------

  /** The Outline tool's box (image px) goes to Python, which answers with the lesion's outline (data.outline). */
  requestOutline(key, points) {
    const slice = this.slices.find((s) => String(s.image_id) === key);
    if (!slice || !hasArea(points)) return;
    const [x0, y0, x1, y1] = bounds(points);
    const rgb = this.isRgb(slice, this.pixelsOf(slice));
    const request = {
      nonce: nonce(),
      image_id: slice.image_id,
      revision: this.revision,
      box: [round2(x0), round2(y0), round2(x1 - x0), round2(y1 - y0)],
      // The picture as seen: the window the user chose (null: the slice's default rendering).
      window: !rgb && this.window ? { center: this.window.center, width: this.window.width } : null,
      label: this.className,
    };
    this.pendingOutline = { nonce: request.nonce, key, points: rectCorners(x0, y0, x1, y1) };
    this.outlineStatus = "pending";
    this.syncAttributes();
    try {
      if (this.component && this.component.setTriggerValue) this.component.setTriggerValue("outline", request);
    } catch (error) {
      console.error("medal viewer: setTriggerValue failed", error);
      this.pendingOutline = null;
      this.outlineStatus = "error";
    }
  }

  /** Python's answer: once per nonce, for the regions it was asked on, the outline becomes a selected polygon. */
  takeOutline(answer) {
    if (!answer || typeof answer !== "object" || typeof answer.nonce !== "string") return;
    if (TAKEN_OUTLINES.has(answer.nonce)) return;
    TAKEN_OUTLINES.add(answer.nonce);
    if (this.pendingOutline && this.pendingOutline.nonce === answer.nonce) this.pendingOutline = null;
    if (answer.revision !== this.revision) return; // asked before the regions were replaced
    const region = answer.region;
    const points = region && Array.isArray(region.points)
      ? region.points.filter((p) => Array.isArray(p) && p.length >= 2 && p.every(Number.isFinite)) : [];
    if (points.length >= 3 && hasArea(points)) {
      const key = String(answer.image_id);
      const label = region.label && this.classes.some((c) => c.name === region.label) ? region.label : this.className;
      this.addRegion(key, "polygon", points, label);
      // Selected to edit at once, but a class key meant for the next region must not re-class it.
      if (key === this.currentKey()) this.selection = { key, index: this.shapes[key].length - 1, fresh: true };
      this.outlineStatus = "done";
    } else {
      this.outlineStatus = "error"; // Python shows why
    }
    this.syncAttributes();
    this.schedule();
  }

  // ----- length measurements ----------------------------------------------------------------------------

  /** A measurement's length: mm from its slice's spacing ([row mm, col mm]), else image px. */
  lengthText(m) {
    const slices = m.pane === "prior" ? this.priorSlices : this.slices;
    const slice = slices.find((s) => s.image_id === m.id);
    const dx = m.b[0] - m.a[0], dy = m.b[1] - m.a[1];
    const spacing = slice && Array.isArray(slice.spacing) ? slice.spacing.map(Number) : null;
    if (spacing && spacing.length >= 2 && spacing.every((v) => Number.isFinite(v) && v > 0)) {
      return `${Math.hypot(dx * spacing[1], dy * spacing[0]).toFixed(1)} mm`;
    }
    return `${Math.hypot(dx, dy).toFixed(1)} px`;
  }

  lastMeasureText() {
    return this.measures.length ? this.measures[this.measures.length - 1].text : "";
  }

  clearMeasures() {
    this.measures = [];
    this.measureText = "";
  }

  dropPriorMeasures() {
    if (!this.measures.some((m) => m.pane === "prior")) return;
    this.measures = this.measures.filter((m) => m.pane !== "prior");
    this.measureText = this.lastMeasureText();
  }
}
