/** What the viewer's modules share: sizes and colours, the per-page memories (taken outlines, views,
 * shown messages, mounted viewers), small DOM helpers, and `mixin`, which puts a module's methods on
 * the Viewer class. */

export const MIN_HEIGHT = 320;
export const BOTTOM_GAP = 8;
export const CLICK_SLOP = 3; // screen px a press may move and still be a click
export const HANDLE_HIT = 7; // screen px around a vertex handle
export const HANDLE_SIZE = 6;
export const ZOOM_STEP = 1.25;
export const ZOOM_MIN = 0.05;
export const ZOOM_MAX = 64;
export const DEFAULT_COLOR = "#ffffff";
export const MEASURE_COLOR = "#ffd400";
export const PANE_GAP = 2; // screen px between the prior pane (left) and the current one (right)
export const BRUSH_DEFAULT = 12; // brush radius, screen px
export const BRUSH_SIZES = [2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 22, 27, 33, 40, 50, 60, 75, 90, 110, 135, 165, 200]; // `[` `]`
export const PROMPT_TEXT =
  "Undo your last save? Your unsaved drawing on this image will be lost. Press U again to confirm, Esc to keep drawing.";

// Quick-outline answers already taken (by nonce), per page: a viewer mounted afresh never adds one twice.
export const TAKEN_OUTLINES = (window.__medalTakenOutlines ||= new Set());
// The slice and view a viewer was on, per series (draft key), per page: a viewer mounted afresh for the same
// image (Streamlit re-created its element) opens where the reader was.
export const VIEW_MEMORY = (window.__medalViewMemory ||= new Map());
export const TOAST_MS = 3500;
// Page messages already shown (by nonce): a viewer mounted afresh, or a rerun, never shows one twice.
export const SHOWN_MESSAGES = (window.__medalShownMessages ||= new Set());

export const viewers = new WeakMap(); // parentElement → Viewer
export const mounted = []; // live viewers in mount order (the keyboard goes to the newest connected one)

// ---------------------------------------------------------------------------------------------------------
// Small helpers

export function nonce() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A number as overlay text: integers as is, others with at most 2 decimals. */
export function formatNumber(v, decimals = 2) {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toFixed(decimals)));
}

/** The offscreen canvas of one pane: the windowed 8-bit picture of its slice at native resolution. */
export class Layer {
  constructor() {
    this.off = document.createElement("canvas");
    this.offCtx = this.off.getContext("2d");
    this.imageData = null;
    this.out32 = null;
    this.lut = null; // {key, table: Uint32Array}
    this.rendered = null; // what the offscreen canvas shows now: {id, key, pixels}
  }
}

export function clipTo(ctx, rect) {
  ctx.beginPath();
  ctx.rect(rect.x, rect.y, rect.w, rect.h);
  ctx.clip();
}

export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Wheel delta in px whatever the event's deltaMode (lines, pages). */
export function normalizedDelta(e, pageHeight) {
  if (e.deltaMode === 1) return e.deltaY * 33;
  if (e.deltaMode === 2) return e.deltaY * (pageHeight || 800);
  return e.deltaY;
}

/** How far the element's ancestors (across shadow roots) and the window are scrolled. */
export function scrolledAbove(el) {
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

/** `data.proposals` as drawn: {image_id, regions: [{label, points}]} with finite points, else null. */
export function validProposals(raw) {
  if (!raw || typeof raw !== "object" || !Number.isInteger(raw.image_id) || !Array.isArray(raw.regions)) return null;
  const regions = raw.regions.filter((r) => r && Array.isArray(r.points) && r.points.length >= 2
    && r.points.every((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1])));
  return regions.length ? { image_id: raw.image_id, regions } : null;
}

/** Put the methods (and getters) of each class in `sources` on `target`'s prototype: the Viewer is one class
 * written in several modules (slices, viewport, rendering, regions, input). */
export function mixin(target, ...sources) {
  for (const source of sources) {
    const { constructor, ...methods } = Object.getOwnPropertyDescriptors(source.prototype);
    Object.defineProperties(target.prototype, methods);
  }
}
