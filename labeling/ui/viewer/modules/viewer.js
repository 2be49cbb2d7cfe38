// Medal viewer: the browser half of the Label page's reading station (Streamlit components v2).
// ../CONTRACT.md is the contract with the Python side; section names below refer to it.
// Plain ES modules, no libraries, no build step: Medal serves this folder at /medal/viewer/ and the
// component's entry (../viewer.js) imports this module from there, so sibling imports work. Streamlit calls the default export on mount and on every rerun with the
// same parentElement (a ShadowRoot when styles are isolated): state lives in a WeakMap keyed by it.

import { ACTION_KEYS, DRAWING_TOOLS, LABEL_KEYS, TOOLBAR, TOOL_KEYS, isTypingTarget, usesArrowKeys } from "./keys.js";
import { GESTURES, TOOL_BY_NAME } from "./tools/index.js";
import { readDraft, writeDraft } from "./drafts.js";
import { CACHE_BUDGET_BYTES, MAX_INFLIGHT, SHARED_PIXELS, fetchPixels, rememberPixels } from "./pixels.js";
import { MAX_LUT_SIZE, packGrey, validWindow, voiFunction } from "./voi.js";
import {
  bounds, canonical, clamp, deepCopy, hasArea, normalizeRegions, rectCorners, regionContains,
  regionVertices, round2,
} from "./geometry.js";

const MIN_HEIGHT = 320;
const BOTTOM_GAP = 8;
const CLICK_SLOP = 3; // screen px a press may move and still be a click
const HANDLE_HIT = 7; // screen px around a vertex handle
const HANDLE_SIZE = 6;
const ZOOM_STEP = 1.25;
const ZOOM_MIN = 0.05;
const ZOOM_MAX = 64;
const DEFAULT_COLOR = "#ffffff";
const MEASURE_COLOR = "#ffd400";
const PANE_GAP = 2; // screen px between the prior pane (left) and the current one (right)
const BRUSH_DEFAULT = 12; // brush radius, screen px
const BRUSH_SIZES = [2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 22, 27, 33, 40, 50, 60, 75, 90, 110, 135, 165, 200]; // `[` `]`
const PROMPT_TEXT =
  "Undo your last save? Your unsaved drawing on this image will be lost. Press U again to confirm, Esc to keep drawing.";

// Quick-outline answers already taken (by nonce), per page: a viewer mounted afresh never adds one twice.
const TAKEN_OUTLINES = (window.__medalTakenOutlines ||= new Set());
// The slice and view a viewer was on, per series (draft key), per page: a viewer mounted afresh for the same
// image (Streamlit re-created its element) opens where the reader was.
const VIEW_MEMORY = (window.__medalViewMemory ||= new Map());
const TOAST_MS = 3500;
// Page messages already shown (by nonce): a viewer mounted afresh, or a rerun, never shows one twice.
const SHOWN_MESSAGES = (window.__medalShownMessages ||= new Set());

const viewers = new WeakMap(); // parentElement → Viewer
const mounted = []; // live viewers in mount order (the keyboard goes to the newest connected one)

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function nonce() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A number as overlay text: integers as is, others with at most 2 decimals. */
function formatNumber(v, decimals = 2) {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toFixed(decimals)));
}

// ---------------------------------------------------------------------------------------------------------
// Pixels: fetch, decode, window



/** The offscreen canvas of one pane: the windowed 8-bit picture of its slice at native resolution. */
class Layer {
  constructor() {
    this.off = document.createElement("canvas");
    this.offCtx = this.off.getContext("2d");
    this.imageData = null;
    this.out32 = null;
    this.lut = null; // {key, table: Uint32Array}
    this.rendered = null; // what the offscreen canvas shows now: {id, key, pixels}
  }
}

// ---------------------------------------------------------------------------------------------------------
// The viewer

class Viewer {
  constructor(parent) {
    this.parent = parent;
    this.destroyed = false;
    this.buildDom();

    this.data = null;
    this.slices = [];
    this.index = 0;
    this.cache = new Map(); // image_id → {status: "loading"|"ready"|"error", pixels, error, controller}
    for (const [id, pixels] of SHARED_PIXELS) this.cache.set(id, { status: "ready", pixels });
    this.inflight = 0;
    this.heatmaps = new Map(); // image_id → {src, img, ready}

    this.view = { zoom: 1, panX: 0, panY: 0 };
    this.size = { w: 0, h: 0, dpr: 1 };
    this.window = null; // {center, width} the user chose; null: the shown slice's default
    this.tool = "box";
    this.className = "";
    this.imageLabel = "none";
    this.revision = null;
    this.base = {}; // regions of the current revision
    this.sentKeys = new Set(); // slices whose regions were sent in this revision (sent as [] once emptied)
    this.shapes = {}; // local regions (what is drawn now)
    this.undoStack = [];
    this.redoStack = [];
    this.selection = null; // {key, index}
    this.draft = null; // a shape being drawn: {kind, key, points, start?}
    this.pendingOutline = null; // a quick-outline box sent to Python, awaiting its answer: {nonce, key, points}
    this.outlineStatus = ""; // "" | "pending" | "done" | "error" (data-outline)
    this.drag = null; // the pointer interaction in progress
    this.cursor = null; // {sx, sy} last pointer position over the canvas
    this.spaceHeld = false;
    this.shiftHeld = false;
    this.unsaved = false;
    this.baseLabel = "none"; // the saved image label (unsaved when imageLabel differs)
    this.draftKey = ""; // data.draft_key of the shown series
    this.toastTimer = 0;

    // The prior study's series (CONTRACT "Additions"): shown on the left when `y` turned it on.
    this.prior = null; // {label, slices, slice_index} from data, or null
    this.priorSlices = [];
    this.priorIndex = 0;
    this.priorKey = ""; // the prior series' image ids, to notice a different prior
    this.priorWanted = false; // the user's `y` choice (kept across images while a prior exists)
    this.measures = []; // length measurements: {pane: "current"|"prior", id, a: [x, y], b: [x, y], text}
    this.measureText = "";
    this.brushSize = BRUSH_DEFAULT;

    // Offscreen canvases (one per pane) holding the windowed 8-bit pictures at native resolution, reused.
    this.layers = { current: new Layer(), prior: new Layer() };
    this.shownId = null; // the slice the main canvas shows (the current one, or a nearer loaded placeholder)
    this.shownPriorId = null; // the same for the prior pane

    this.frameRequested = 0;
    this.bindEvents();
  }

  // ----- DOM ---------------------------------------------------------------------------------------------

  buildDom() {
    let root = this.parent.querySelector('[data-testid="medal-viewer"]');
    if (!root) {
      // The html part was not given: build the same markup (no innerHTML anywhere).
      root = document.createElement("div");
      root.setAttribute("data-testid", "medal-viewer");
      root.className = "medal-viewer";
      root.tabIndex = -1;
      this.parent.appendChild(root);
    }
    this.root = root;
    // Testing contract: the shown slice's 8-bit picture at native resolution, as grey levels (or RGB).
    root.medalPicture = () => {
      const layer = this.layers && this.layers.current;
      if (!layer || !layer.imageData) return null;
      const { width, height, data } = layer.imageData;
      const grey = new Array(width * height);
      for (let i = 0; i < grey.length; i++) grey[i] = data[i * 4];
      return { width, height, imageId: layer.rendered ? layer.rendered.id : null, grey };
    };
    const part = (selector, tag, className) => {
      let el = root.querySelector(selector);
      if (!el) {
        el = document.createElement(tag);
        el.className = className;
        root.appendChild(el);
      }
      return el;
    };
    this.canvas = part("canvas", "canvas", "mv-canvas");
    this.ctx = this.canvas.getContext("2d");
    this.corners = {
      tl: part(".mv-tl", "div", "mv-overlay mv-tl"),
      tr: part(".mv-tr", "div", "mv-overlay mv-tr"),
      bl: part(".mv-bl", "div", "mv-overlay mv-bl"),
      br: part(".mv-br", "div", "mv-overlay mv-br"),
    };
    this.message = part(".mv-message", "div", "mv-message");
    this.priorCorners = {
      tl: part(".mv-prior-tl", "div", "mv-overlay mv-prior mv-prior-tl"),
      tr: part(".mv-prior-tr", "div", "mv-overlay mv-prior mv-prior-tr"),
      br: part(".mv-prior-br", "div", "mv-overlay mv-prior mv-prior-br"),
    };
    this.priorMessage = part(".mv-prior-message", "div", "mv-message mv-prior mv-prior-message");
    this.priorMessage.hidden = true;
    this.prompt = part(".mv-prompt", "div", "mv-prompt");
    this.prompt.setAttribute("role", "alertdialog");
    this.prompt.textContent = PROMPT_TEXT;
    this.prompt.hidden = true;
    this.message.hidden = true;
    this.toast = part(".mv-toast", "div", "mv-toast");
    this.toast.setAttribute("role", "status");
    this.toast.hidden = true;
    this.buildToolbar();
  }

  /** The tool buttons, in a row above the root (never over the image, where they would catch drags). */
  buildToolbar() {
    const host = this.root.parentNode;
    let bar = host && host.querySelector(".mv-toolbar");
    if (!bar) {
      bar = document.createElement("div");
      bar.className = "mv-toolbar";
      if (host) host.insertBefore(bar, this.root);
    }
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Viewer tools");
    while (bar.firstChild) bar.removeChild(bar.firstChild);
    this.toolButtons = new Map();
    for (const [tool, text, key, title] of TOOLBAR) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "mv-tool";
      button.dataset.tool = tool;
      button.title = `${title} (${key})`;
      button.setAttribute("aria-pressed", "false");
      button.appendChild(document.createTextNode(`${text} `));
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      button.appendChild(kbd);
      this.toolButtons.set(tool, button);
      bar.appendChild(button);
    }
    // The class new regions get, always in sight (a class key changes it; with a region selected by a click,
    // it re-classes that region, which the toast says).
    const chip = document.createElement("span");
    chip.className = "mv-class";
    chip.setAttribute("aria-live", "polite");
    chip.title = "Class of new regions (class keys change it)";
    this.classSwatch = document.createElement("span");
    this.classSwatch.className = "mv-class-swatch";
    this.classText = document.createElement("span");
    this.classAbout = document.createElement("span"); // what readers mark with the class (Settings)
    this.classAbout.className = "mv-class-about";
    chip.appendChild(this.classSwatch);
    chip.appendChild(this.classText);
    chip.appendChild(this.classAbout);
    bar.appendChild(chip);
    this.classChip = chip;
    this.toolbar = bar;
  }

  bindEvents() {
    const c = this.canvas;
    this.listeners = [
      [c, "pointerdown", (e) => this.onPointerDown(e)],
      [c, "pointermove", (e) => this.onPointerMove(e)],
      [c, "pointerup", (e) => this.onPointerUp(e)],
      [c, "pointercancel", (e) => this.onPointerCancel(e)],
      [c, "pointerleave", () => this.onPointerLeave()],
      [c, "dblclick", (e) => this.onDoubleClick(e)],
      [c, "wheel", (e) => this.onWheel(e), { passive: false }],
      [this.root, "contextmenu", (e) => e.preventDefault()],
      // A toolbar button never keeps the focus (Space and Enter would press it again): the root takes it.
      [this.toolbar, "mousedown", (e) => e.preventDefault()],
      [this.toolbar, "click", (e) => this.onToolbarClick(e)],
      [window, "resize", () => { this.updateHeight(); this.onResize(); }],
    ];
    for (const [target, type, fn, options] of this.listeners) target.addEventListener(type, fn, options);
    this.resizeObserver = new ResizeObserver(() => this.onResize());
    this.resizeObserver.observe(this.root);
  }

  destroy() {
    this.destroyed = true;
    for (const [target, type, fn, options] of this.listeners) target.removeEventListener(type, fn, options);
    this.resizeObserver.disconnect();
    for (const entry of this.cache.values()) if (entry.controller) entry.controller.abort();
    this.cache.clear();
    if (this.frameRequested) cancelAnimationFrame(this.frameRequested);
    const at = mounted.indexOf(this);
    if (at >= 0) mounted.splice(at, 1);
  }

  /** Root height: down to the bottom of the window (contract: innerHeight - root top - 8 px, min 320). */
  updateHeight() {
    if (this.destroyed || !this.root.isConnected) return;
    const top = this.root.getBoundingClientRect().top + scrolledAbove(this.root);
    const height = Math.max(MIN_HEIGHT, Math.floor(window.innerHeight - top - BOTTOM_GAP));
    if (this.root.style.height !== `${height}px`) this.root.style.height = `${height}px`;
  }

  onResize() {
    const w = this.root.clientWidth, h = this.root.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (w === this.size.w && h === this.size.h && dpr === this.size.dpr) return;
    this.size = { w, h, dpr };
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.canvas.width = Math.max(1, Math.round(w * dpr));
    this.canvas.height = Math.max(1, Math.round(h * dpr));
    this.drawNow(); // resizing clears the canvas: draw in the same frame to avoid a black flash
  }

  // ----- data from Python --------------------------------------------------------------------------------

  update(component) {
    this.component = component;
    const data = component.data || {};
    const prev = this.data;
    this.data = data;
    this.slices = Array.isArray(data.slices) ? data.slices : [];
    this.classes = Array.isArray(data.classes) ? data.classes : [];

    const imageChanged = !prev || data.image_id !== prev.image_id;
    const revisionChanged = !prev || data.revision !== prev.revision;

    if (imageChanged) {
      const at = this.slices.findIndex((s) => s.image_id === data.image_id);
      this.index = Number.isInteger(data.slice_index) ? data.slice_index : Math.max(at, 0);
      this.view = { zoom: 1, panX: 0, panY: 0 };
      this.draftKey = typeof data.draft_key === "string" ? data.draft_key : "";
      const memory = !prev && this.draftKey ? VIEW_MEMORY.get(this.draftKey) : null;
      if (memory && memory.count === this.slices.length) { // re-mounted on the same image: where the reader was
        this.index = memory.index;
        this.view = { ...memory.view };
      }
      this.window = validWindow(data.window);
      this.hidePrompt();
      this.drag = null;
      delete this.root.dataset.dragging;
      this.clearMeasures();
    }
    this.index = clamp(this.index, 0, Math.max(this.slices.length - 1, 0));
    this.updatePrior(data, imageChanged);
    if (imageChanged && data.show_prior && this.priorSlices.length) this.priorWanted = true; // from the timeline

    if (imageChanged || revisionChanged) {
      if (this.drag && ["move", "vertex", "brush"].includes(this.drag.mode)) {
        this.drag = null; // the shapes it edits are being replaced
        delete this.root.dataset.dragging;
      }
      this.revision = data.revision;
      // `regions`: what the reader has now (saved, with the session's unsaved edits); `saved_regions`: what is
      // saved (unsaved = the difference). A viewer mounted afresh thus shows the edits it had before.
      this.base = normalizeRegions(data.saved_regions !== undefined ? data.saved_regions : data.regions);
      this.shapes = normalizeRegions(data.regions);
      this.baseLabel = data.saved_label || "none";
      this.sentKeys = new Set();
      this.undoStack = [];
      this.redoStack = [];
      this.selection = null;
      this.draft = null;
      this.pendingOutline = null; // its answer belongs to the regions just replaced
      this.outlineStatus = "";
      this.imageLabel = data.image_label || "none";
      this.restoreDraft();
    } else if (prev && data.image_label !== prev.image_label && data.image_label) {
      this.imageLabel = data.image_label; // chosen on the page (the radio): the last choice wins
      this.saveDraft();
    }
    // Tool: Python's on mount only. Python never picks a tool itself, it only echoes the last one this viewer
    // reported — and an echo that arrives late (`o` pressed, then a drag at once) must not undo a newer choice.
    if (!prev) this.tool = data.tool || this.tool || "box";
    // Class: Python's value when it changes it (first mount included); local choices otherwise.
    if (!prev || data.class_name !== prev.class_name) {
      this.className = data.class_name || (this.classes[0] && this.classes[0].name) || "";
    }
    this.showClass();
    this.updateUnsaved();
    this.proposals = validProposals(data.proposals);
    const message = data.message;
    if (message && typeof message.nonce === "string" && typeof message.text === "string"
        && !SHOWN_MESSAGES.has(message.nonce)) {
      SHOWN_MESSAGES.add(message.nonce);
      this.showToast(message.text); // "Saved 2 regions on slices 8, 9": over the image, not over the page
    }
    // A quick-outline answer becomes an edit (sent back as regions): after this call, not inside it.
    if (data.outline) setTimeout(() => { if (!this.destroyed && this.data) this.takeOutline(this.data.outline); }, 0);
    this.syncCache();
    this.updateHeight();
    this.syncAttributes(); // at once: a test reading data-ready right after a rerun must not see the old slice
    // Layout may settle after the first paint (fonts, elements above us): measure again shortly.
    requestAnimationFrame(() => this.updateHeight());
    setTimeout(() => this.updateHeight(), 250);
    this.schedule();
  }

  /** Take `data.prior`: a new prior series starts at its slice nearest the shown one. */
  updatePrior(data, imageChanged) {
    const raw = data.prior;
    const prior = raw && typeof raw === "object" && Array.isArray(raw.slices) && raw.slices.length ? raw : null;
    const key = prior ? prior.slices.map((s) => s.image_id).join(",") : "";
    this.prior = prior;
    this.priorSlices = prior ? prior.slices : [];
    if (imageChanged || key !== this.priorKey) {
      this.priorKey = key;
      this.dropPriorMeasures();
      if (prior) {
        // Python's nearest slice while the shown slice is the one it was computed for, else ours.
        const given = Number.isInteger(prior.slice_index) && this.index === data.slice_index;
        this.priorIndex = given ? prior.slice_index : this.nearestPriorIndex();
      } else {
        this.priorIndex = 0;
      }
    }
    this.priorIndex = clamp(this.priorIndex, 0, Math.max(this.priorSlices.length - 1, 0));
  }

  /** Whether the prior pane is on screen. */
  priorShown() {
    return this.priorWanted && this.priorSlices.length > 0;
  }

  get priorCurrent() {
    return this.priorShown() ? this.priorSlices[this.priorIndex] || null : null;
  }

  /** The prior slice nearest the shown slice's position (or at the same relative index without positions). */
  nearestPriorIndex() {
    const prior = this.priorSlices;
    if (!prior.length) return 0;
    const slice = this.current;
    if (slice && Number.isFinite(slice.position)) {
      let best = -1, bestDistance = Infinity;
      prior.forEach((s, i) => {
        const d = Number.isFinite(s.position) ? Math.abs(s.position - slice.position) : Infinity;
        if (d < bestDistance) { best = i; bestDistance = d; }
      });
      if (best >= 0) return best;
    }
    if (this.slices.length > 1) return Math.round((this.index * (prior.length - 1)) / (this.slices.length - 1));
    return clamp(this.priorIndex, 0, prior.length - 1);
  }

  /** `y`: show / hide the prior pane (only when the data has a prior). */
  togglePrior() {
    if (!this.priorSlices.length) return false;
    this.priorWanted = !this.priorWanted;
    if (!this.priorWanted) this.dropPriorMeasures();
    this.cursor = null; // the panes moved under the pointer
    this.pump();
    this.syncAttributes();
    this.schedule();
    return true;
  }

  // ----- slices and the pixel cache ----------------------------------------------------------------------

  get current() {
    return this.slices[this.index] || null;
  }

  /** Drop decoded slices of series no longer in data and start fetching the shown ones' (shown first). */
  syncCache() {
    const next = this.nextUp();
    const ids = new Set([...this.slices, ...this.priorSlices, ...(next ? [next] : [])].map((s) => s.image_id));
    for (const [id, entry] of this.cache) {
      if (!ids.has(id)) {
        if (entry.controller) entry.controller.abort();
        this.cache.delete(id);
      }
    }
    this.pump();
  }

  /** Slice indices by distance from the shown one: i, i+1, i-1, i+2, i-2, … */
  prefetchOrder(index = this.index, count = this.slices.length) {
    const order = count ? [index] : [];
    for (let d = 1; d < count; d++) {
      if (index + d < count) order.push(index + d);
      if (index - d >= 0) order.push(index - d);
    }
    return order;
  }

  /** Slices to hold, nearest first: the current series' and, while shown, the prior's, interleaved. */
  prefetchPlan() {
    const current = this.prefetchOrder().map((i) => this.slices[i]);
    const plan = [];
    if (!this.priorShown()) {
      plan.push(...current);
    } else {
      const prior = this.prefetchOrder(this.priorIndex, this.priorSlices.length).map((i) => this.priorSlices[i]);
      for (let k = 0; k < Math.max(current.length, prior.length); k++) {
        if (k < current.length) plan.push(current[k]);
        if (k < prior.length) plan.push(prior[k]);
      }
    }
    // Last, the queue's next image (another series): in the browser before Save & next is pressed.
    const next = this.nextUp();
    if (next && !plan.some((s) => s.image_id === next.image_id)) plan.push(next);
    return plan;
  }

  /** `data.next_up`: the first slice of the queue's next image, when it is not of this series. */
  nextUp() {
    const n = this.data && this.data.next_up;
    return n && Number.isInteger(n.image_id) && typeof n.url === "string" ? n : null;
  }

  /** The slices on screen now (never evicted, always fetched). */
  shownIds() {
    const ids = new Set();
    if (this.current) ids.add(this.current.image_id);
    if (this.priorCurrent) ids.add(this.priorCurrent.image_id);
    return ids;
  }

  estimatedBytes(slice) {
    const samples = slice.samples || 1;
    return (slice.rows || 512) * (slice.cols || 512) * samples * (samples === 3 ? 1 : 2);
  }

  /** Start requests (at most MAX_INFLIGHT at once) for the nearest slices that fit the memory budget. */
  pump() {
    if (this.destroyed) return;
    let budget = CACHE_BUDGET_BYTES;
    const shown = this.shownIds();
    for (const slice of this.prefetchPlan()) {
      const entry = this.cache.get(slice.image_id);
      budget -= entry && entry.pixels ? entry.pixels.bytes : this.estimatedBytes(slice);
      if (budget < 0 && !shown.has(slice.image_id)) break;
      if (entry) continue;
      if (this.inflight >= MAX_INFLIGHT) break;
      this.load(slice);
    }
  }

  load(slice) {
    const kept = SHARED_PIXELS.get(slice.image_id); // decoded before on this page (an earlier image, Back)
    if (kept) {
      this.cache.set(slice.image_id, { status: "ready", pixels: kept });
      this.schedule();
      return;
    }
    const entry = { status: "loading", controller: new AbortController() };
    this.cache.set(slice.image_id, entry);
    this.inflight++;
    fetchPixels(slice.url, entry.controller.signal)
      .then((pixels) => {
        entry.status = "ready";
        entry.pixels = pixels;
        rememberPixels(slice.image_id, pixels);
      })
      .catch((error) => {
        if (entry.controller.signal.aborted) {
          if (this.cache.get(slice.image_id) === entry) this.cache.delete(slice.image_id);
        } else {
          entry.status = "error";
          entry.error = error && error.message ? error.message : String(error);
        }
      })
      .finally(() => {
        entry.controller = null;
        this.inflight--;
        if (this.destroyed) return;
        this.evict();
        this.pump();
        // Redraw when this is a shown slice, or while a shown one still waits (a nearer placeholder).
        const current = this.current, prior = this.priorCurrent;
        if ((current && (current.image_id === slice.image_id || this.shownId !== current.image_id)) ||
            (prior && (prior.image_id === slice.image_id || this.shownPriorId !== prior.image_id))) this.schedule();
      });
  }

  /** Keep the decoded slices within the budget, dropping those farthest from the shown one. */
  evict() {
    let total = 0;
    for (const entry of this.cache.values()) if (entry.pixels) total += entry.pixels.bytes;
    if (total <= CACHE_BUDGET_BYTES) return;
    const rank = new Map(this.prefetchPlan().map((s, i) => [s.image_id, i])); // not planned: evicted first
    const rankOf = (id) => (rank.has(id) ? rank.get(id) : Infinity);
    const shown = this.shownIds();
    const loaded = [...this.cache.entries()]
      .filter(([, e]) => e.pixels)
      .sort((a, b) => rankOf(b[0]) - rankOf(a[0]));
    for (const [id, entry] of loaded) {
      if (total <= CACHE_BUDGET_BYTES || shown.has(id)) break;
      total -= entry.pixels.bytes;
      this.cache.delete(id);
    }
  }

  pixelsOf(slice) {
    const entry = slice && this.cache.get(slice.image_id);
    return entry && entry.status === "ready" ? entry.pixels : null;
  }

  /** The loaded slice nearest the shown one of a series (a placeholder while it loads), or null. */
  nearestLoaded(slices = this.slices, index = this.index) {
    for (const i of this.prefetchOrder(index, slices.length)) {
      const pixels = this.pixelsOf(slices[i]);
      if (pixels) return slices[i];
    }
    return null;
  }

  goToSlice(index) {
    if (!this.slices.length) return;
    const next = clamp(index, 0, this.slices.length - 1);
    if (next === this.index) return;
    this.index = next;
    if (this.priorSlices.length) this.priorIndex = this.nearestPriorIndex();
    this.clearMeasures(); // measurements belong to their slice
    if (this.draft && this.draft.kind === "polygon") this.draft = null; // a polygon belongs to its slice
    if (this.selection && this.selection.key !== this.currentKey()) this.selection = null;
    this.pump();
    this.syncAttributes();
    this.schedule();
  }

  /** Where the reader is in this series (slice, zoom, pan), for a viewer mounted afresh on the same image. */
  remember() {
    if (this.draftKey) VIEW_MEMORY.set(this.draftKey, { index: this.index, count: this.slices.length, view: { ...this.view } });
  }

  currentKey() {
    const c = this.current;
    return c ? String(c.image_id) : "";
  }

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
    if (lower === "u") {
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
    if (ACTION_KEYS[lower]) {
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

// ---------------------------------------------------------------------------------------------------------
// Module-level glue


function clipTo(ctx, rect) {
  ctx.beginPath();
  ctx.rect(rect.x, rect.y, rect.w, rect.h);
  ctx.clip();
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Wheel delta in px whatever the event's deltaMode (lines, pages). */
function normalizedDelta(e, pageHeight) {
  if (e.deltaMode === 1) return e.deltaY * 33;
  if (e.deltaMode === 2) return e.deltaY * (pageHeight || 800);
  return e.deltaY;
}

/** How far the element's ancestors (across shadow roots) and the window are scrolled. */
function scrolledAbove(el) {
  let total = 0; // document.documentElement's scrollTop is the window's scroll
  let node = el.parentNode;
  while (node) {
    if (node instanceof ShadowRoot) node = node.host;
    else {
      if (node.scrollTop) total += node.scrollTop;
      node = node.parentNode;
    }
  }
  return total;
}

/** The viewer keys go to the newest mounted viewer that is still on the page. */
function activeViewer() {
  for (let i = mounted.length - 1; i >= 0; i--) {
    const v = mounted[i];
    if (!v.destroyed && v.root.isConnected) return v;
  }
  return null;
}

function dispatchKeyDown(e) {
  if (isTypingTarget(e)) return;
  const viewer = activeViewer();
  if (!viewer) return;
  if (viewer.onKey(e)) {
    e.preventDefault();
    e.stopPropagation(); // a page shortcut bound to the same key must not act twice (e.g. save twice)
    // A page widget that kept the focus (a radio just clicked) would show a focus frame once keys are used,
    // and Space would press it: the viewer takes the focus.
    const host = viewer.root.getRootNode().host;
    const active = document.activeElement;
    if (active && active !== document.body && active !== host && !viewer.root.contains(active)) {
      viewer.root.focus({ preventScroll: true });
    }
  }
}

function dispatchKeyUp(e) {
  const viewer = activeViewer();
  if (viewer && viewer.onKeyUp(e) && !isTypingTarget(e)) e.preventDefault();
}

/**
 * One pair of document listeners per page, even if Streamlit evaluates this module again (a changed
 * file gives a new blob URL): the listeners call whatever dispatcher the newest module evaluation set.
 */
function installKeyboard() {
  const KEY = "__medalViewerKeyboard";
  const hub = window[KEY] || (window[KEY] = { down: null, up: null, installed: false });
  hub.down = dispatchKeyDown;
  hub.up = dispatchKeyUp;
  if (hub.installed) return;
  hub.installed = true;
  document.addEventListener("keydown", (e) => hub.down && hub.down(e), { capture: true });
  document.addEventListener("keyup", (e) => hub.up && hub.up(e), { capture: true });
  window.addEventListener("blur", () => {
    for (const v of mounted) {
      v.spaceHeld = false;
      v.shiftHeld = false;
      delete v.root.dataset.space;
    }
  });
}

/** `data.proposals` as drawn: {image_id, regions: [{label, points}]} with finite points, else null. */
function validProposals(raw) {
  if (!raw || typeof raw !== "object" || !Number.isInteger(raw.image_id) || !Array.isArray(raw.regions)) return null;
  const regions = raw.regions.filter((r) => r && Array.isArray(r.points) && r.points.length >= 2
    && r.points.every((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1])));
  return regions.length ? { image_id: raw.image_id, regions } : null;
}

/** Less blank above the viewer (Streamlit's page starts ~6rem down): the Label page's own, while a viewer is on
 * the page; the rule leaves with the last viewer. */
function compactPage(on) {
  const id = "medal-compact-page";
  const existing = document.getElementById(id);
  if (on && !existing) {
    const style = document.createElement("style");
    style.id = id;
    style.textContent = '[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }';
    document.head.appendChild(style);
  } else if (!on && existing) {
    existing.remove();
  }
}

export default function (component) {
  const parent = component.parentElement;
  if (!parent) return undefined;
  installKeyboard();
  let viewer = viewers.get(parent);
  // A re-created root (the html part rendered again) gets a fresh viewer.
  if (viewer && (viewer.destroyed || !parent.contains(viewer.root))) {
    viewer.destroy();
    viewer = null;
  }
  if (!viewer) {
    viewer = new Viewer(parent);
    viewers.set(parent, viewer);
    window.__medalViewersBuilt = (window.__medalViewersBuilt || 0) + 1; // tests: a rerun must not build anew
  }
  const at = mounted.indexOf(viewer);
  if (at >= 0) mounted.splice(at, 1);
  mounted.push(viewer);
  compactPage(true);
  viewer.update(component);

  // Streamlit calls this on unmount (and possibly for a superseded call while still mounted): only tear
  // down once the root has really left the page.
  return () => {
    setTimeout(() => {
      if (!viewer.root.isConnected && viewers.get(parent) === viewer) {
        viewer.destroy();
        viewers.delete(parent);
        if (!mounted.some((other) => other.root.isConnected)) compactPage(false);
      }
    }, 0);
  };
}
