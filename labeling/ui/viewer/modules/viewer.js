// Medal viewer: the browser half of the Label page's reading station (Streamlit components v2).
// ../CONTRACT.md is the contract with the Python side; section names below refer to it.
// Plain ES modules, no libraries, no build step: Medal serves this folder at /medal/viewer/ and the
// component's entry (../viewer.js) imports this module from there, so sibling imports work. Streamlit calls
// the default export on mount and on every rerun with the same parentElement (a ShadowRoot when styles are
// isolated): state lives in a WeakMap keyed by it. The Viewer class is written in several modules (slices,
// viewport, render, regions, input) mixed into it; the tools are ./tools/.

import { TOOLBAR, isTypingTarget } from "./keys.js";
import { SHARED_PIXELS } from "./pixels.js";
import { validWindow } from "./voi.js";
import { clamp, normalizeRegions } from "./geometry.js";
import {
  BOTTOM_GAP, BRUSH_DEFAULT, Layer, MIN_HEIGHT, PROMPT_TEXT, SHOWN_MESSAGES, VIEW_MEMORY, mixin, mounted, nonce,
  scrolledAbove, validProposals, viewers,
} from "./common.js";
import { SliceLoading } from "./slices.js";
import { Viewport } from "./viewport.js";
import { Rendering } from "./render.js";
import { Regions } from "./regions.js";
import { Input } from "./input.js";
import { ReaderOverlays } from "./readers.js";

/** One viewer per component instance; its methods are written in the modules mixed in below. */
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

    this.readers = []; // other readers' regions, read-only (data.readers)
    this.hiddenReaders = new Set(); // the readers whose toggle is off

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
    this.updateReaders(data);
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

  /** Whether an action key sends its action (`data.actions`; all four when absent). */
  allows(type) {
    const actions = this.data && this.data.actions;
    return !Array.isArray(actions) || actions.includes(type);
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
}

mixin(Viewer, SliceLoading, Viewport, Rendering, Regions, Input, ReaderOverlays);

// ---------------------------------------------------------------------------------------------------------
// Module-level glue







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
