/** The readers' regions beside the regions being edited (the consensus: CONTRACT "Additions (fourth round)"):
 * read-only, each reader's dashed in their colour and numbered as the Review page numbers them (the reader's
 * initial and the region's position), each reader shown or hidden by a toggle in the toolbar. Reader names are
 * user text: textContent and canvas text only. */

import { normalizeRegions, regionVertices } from "./geometry.js";

const COLOR = /^#[0-9a-f]{6}$/i;

/** `data.readers` as [{name, color, regions: {image_id: [...]}}]; anything else is left out. */
export function validReaders(raw) {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((r) => r && typeof r === "object" && typeof r.name === "string" && r.name)
    .map((r) => ({ name: r.name, color: COLOR.test(r.color) ? r.color : "#ffffff", regions: normalizeRegions(r.regions) }));
}

export class ReaderOverlays {
  /** Take `data.readers` (a reader hidden by its toggle stays hidden across reruns and images). */
  updateReaders(data) {
    this.readers = validReaders(data.readers);
    if (!this.hiddenReaders) this.hiddenReaders = new Set();
    this.buildReaderToggles();
  }

  /** One toggle button per reader, after the class chip (rebuilt only when the readers change). */
  buildReaderToggles() {
    const key = JSON.stringify(this.readers.map((r) => [r.name, r.color]));
    if (this.readerBar && this.readerBarKey === key && this.readerBar.isConnected) {
      this.syncReaderToggles();
      return;
    }
    if (this.readerBar) this.readerBar.remove();
    this.readerBarKey = key;
    this.readerBar = null;
    if (!this.readers.length || !this.toolbar) return;
    const bar = document.createElement("span");
    bar.className = "mv-readers";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Readers' regions");
    const title = document.createElement("span");
    title.className = "mv-readers-title";
    title.textContent = "Readers:";
    bar.appendChild(title);
    this.readers.forEach((reader, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "mv-reader";
      button.dataset.readerIndex = String(index);
      button.title = `Show or hide the regions of ${reader.name}`;
      const swatch = document.createElement("span");
      swatch.className = "mv-reader-swatch";
      swatch.style.background = reader.color;
      button.appendChild(swatch);
      button.appendChild(document.createTextNode(reader.name));
      bar.appendChild(button);
    });
    bar.addEventListener("click", (e) => {
      const button = e.target && e.target.closest ? e.target.closest("button.mv-reader") : null;
      const reader = button && this.readers[Number(button.dataset.readerIndex)];
      if (!reader) return;
      this.toggleReader(reader.name);
      this.root.focus({ preventScroll: true }); // the keys stay the viewer's
    });
    this.toolbar.appendChild(bar);
    this.readerBar = bar;
    this.syncReaderToggles();
  }

  syncReaderToggles() {
    if (!this.readerBar) return;
    for (const button of this.readerBar.querySelectorAll("button.mv-reader")) {
      const reader = this.readers[Number(button.dataset.readerIndex)];
      const pressed = reader && !this.hiddenReaders.has(reader.name) ? "true" : "false";
      if (button.getAttribute("aria-pressed") !== pressed) button.setAttribute("aria-pressed", pressed);
    }
  }

  toggleReader(name) {
    if (this.hiddenReaders.has(name)) this.hiddenReaders.delete(name);
    else this.hiddenReaders.add(name);
    this.syncReaderToggles();
    this.syncAttributes();
    this.schedule();
  }

  /** The shown readers' regions on the shown slice (data-reader-regions counts them). */
  shownReaderRegions() {
    const key = this.currentKey();
    const out = [];
    for (const reader of this.readers || []) {
      if (this.hiddenReaders.has(reader.name)) continue;
      (reader.regions[key] || []).forEach((region, number) => out.push({ reader, region, number }));
    }
    return out;
  }

  drawReaders(t) {
    const shown = this.shownReaderRegions();
    if (!shown.length) return;
    const ctx = this.ctx;
    ctx.font = "bold 12px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    for (const { reader, region, number } of shown) {
      const points = regionVertices(region);
      ctx.setLineDash([8, 4]);
      this.drawShape(points, reader.color, t, { closed: true, fill: false });
      ctx.setLineDash([]);
      const [x, y] = this.toScreen(points[0][0], points[0][1], t);
      const text = `${Array.from(reader.name)[0]}${number}`;
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
      ctx.strokeText(text, x + 3, y + 2);
      ctx.fillStyle = reader.color;
      ctx.fillText(text, x + 3, y + 2);
    }
  }
}
