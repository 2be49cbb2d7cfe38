/** The Viewer's slices and pixel cache: which slice is shown, what is fetched next (the series around it
 * and the queue's next image), loading and eviction within the budget. */

import { CACHE_BUDGET_BYTES, MAX_INFLIGHT, SHARED_PIXELS, fetchPixels, rememberPixels } from "./pixels.js";
import { clamp } from "./geometry.js";
import { VIEW_MEMORY, mounted } from "./common.js";

export class SliceLoading {
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
}
