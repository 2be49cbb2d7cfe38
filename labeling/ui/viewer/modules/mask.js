/** Brush masks: a Uint8Array raster at image resolution (1 = inside); filling, stamping, tracing the
 * outline back. No DOM: unit-tested with Node. */

import { bounds, round2 } from "./geometry.js";

export const SIMPLIFY_TOLERANCE = 0.5; // image px, traced brush outlines

// ---------------------------------------------------------------------------------------------------------
// Brush masks: a Uint8Array raster at image resolution (1 = inside), pixel (c, r) covers [c, c+1]×[r, r+1]
// and counts as inside a shape when its centre (c + 0.5, r + 0.5) is.

/**
 * Fill a polygon (even–odd, pixel centres) into an empty mask; returns {box: [c0, r0, c1, r1] (its pixels),
 * count}, box null when no pixel centre is inside.
 */
export function fillPolygon(mask, cols, rows, points) {
  if (points.length < 3) return { box: null, count: 0 };
  let count = 0;
  const [x0, y0, x1, y1] = bounds(points);
  const r0 = Math.max(0, Math.ceil(y0 - 0.5)), r1 = Math.min(rows - 1, Math.ceil(y1 - 0.5) - 1);
  const xs = [];
  let box = null;
  for (let r = r0; r <= r1; r++) {
    const y = r + 0.5;
    xs.length = 0;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [ax, ay] = points[j];
      const [bx, by] = points[i];
      if ((ay > y) !== (by > y)) xs.push(ax + ((y - ay) * (bx - ax)) / (by - ay));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const c0 = Math.max(0, Math.ceil(xs[k] - 0.5)), c1 = Math.min(cols - 1, Math.ceil(xs[k + 1] - 0.5) - 1);
      if (c1 < c0) continue;
      for (let i = r * cols + c0, end = r * cols + c1; i <= end; i++) {
        count += 1 - mask[i]; // even–odd spans never overlap, but a degenerate edge could touch twice
        mask[i] = 1;
      }
      box = growBox(box, c0, r, c1, r);
    }
  }
  return { box, count };
}

export function growBox(box, c0, r0, c1, r1) {
  if (!box) return [c0, r0, c1, r1];
  return [Math.min(box[0], c0), Math.min(box[1], r0), Math.max(box[2], c1), Math.max(box[3], r1)];
}

/**
 * Set (value 1) or clear (0) the pixels within `radius` of the segment a–b; returns the pixel box looked at
 * (null when off the image) and adds the number of pixels that changed to `counter.changed`.
 */
export function stampCapsule(mask, cols, rows, ax, ay, bx, by, radius, value, counter) {
  const c0 = Math.max(0, Math.floor(Math.min(ax, bx) - radius - 0.5));
  const c1 = Math.min(cols - 1, Math.ceil(Math.max(ax, bx) + radius - 0.5));
  const r0 = Math.max(0, Math.floor(Math.min(ay, by) - radius - 0.5));
  const r1 = Math.min(rows - 1, Math.ceil(Math.max(ay, by) + radius - 0.5));
  if (c1 < c0 || r1 < r0) return null;
  const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy, rr = radius * radius;
  let changed = 0;
  for (let r = r0; r <= r1; r++) {
    const py = r + 0.5;
    for (let c = c0; c <= c1; c++) {
      const px = c + 0.5;
      let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = ax + t * dx - px, ey = ay + t * dy - py;
      if (ex * ex + ey * ey <= rr && mask[r * cols + c] !== value) {
        mask[r * cols + c] = value;
        changed++;
      }
    }
  }
  if (counter) counter.changed += changed;
  return [c0, r0, c1, r1];
}

export const STEP_X = [1, 0, -1, 0]; // headings: right, down, left, up (image y grows downwards)
export const STEP_Y = [0, 1, 0, -1];
// Pixel offsets, from the lattice corner just reached, of the pixel ahead on the right / ahead on the left.
export const AHEAD_RIGHT = [[0, 0], [-1, 0], [-1, -1], [0, -1]];
export const AHEAD_LEFT = [[0, -1], [0, 0], [-1, 0], [-1, -1]];

/**
 * The outline of the mask's largest 4-connected component within `box` (holes filled), as marching squares
 * gives it (the iso-0.5 line between pixel centres = the midpoints of the boundary's pixel edges), lightly
 * simplified: {points, filled (its pixel count, holes included)}. Returns null when the mask is empty there.
 */
export function traceMask(mask, cols, rows, box) {
  if (!box) return null;
  const [bc0, br0, bc1, br1] = box;
  const w = bc1 - bc0 + 1, h = br1 - br0 + 1;
  if (w <= 0 || h <= 0) return null;
  // Label 4-connected components (scanline flood fill), keep the largest.
  const labels = new Int32Array(w * h);
  const stack = new Int32Array(w * h); // each pixel is pushed at most once
  let best = 0, bestSize = 0, bestStart = -1, next = 0;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const at = r * w + c;
      if (labels[at] || !mask[(r + br0) * cols + c + bc0]) continue;
      const label = ++next;
      let size = 0, top = 0;
      labels[at] = label;
      stack[top++] = at;
      while (top) {
        const q = stack[--top];
        size++;
        const qr = (q / w) | 0, qc = q - qr * w;
        const m = (qr + br0) * cols + qc + bc0;
        if (qc > 0 && !labels[q - 1] && mask[m - 1]) { labels[q - 1] = label; stack[top++] = q - 1; }
        if (qc < w - 1 && !labels[q + 1] && mask[m + 1]) { labels[q + 1] = label; stack[top++] = q + 1; }
        if (qr > 0 && !labels[q - w] && mask[m - cols]) { labels[q - w] = label; stack[top++] = q - w; }
        if (qr < h - 1 && !labels[q + w] && mask[m + cols]) { labels[q + w] = label; stack[top++] = q + w; }
      }
      if (size > bestSize) { best = label; bestSize = size; bestStart = at; }
    }
  }
  if (!best) return null;
  const inside = (c, r) => c >= 0 && r >= 0 && c < w && r < h && labels[r * w + c] === best;
  // Follow the outer boundary from the top-left corner of the component's first pixel (raster order: the
  // pixel above it is outside), inside on the right; at a diagonal pair the pixels are apart (4-connected).
  const sr = (bestStart / w) | 0, sc = bestStart - sr * w;
  let x = sc, y = sr, d = 0;
  let twiceArea = 0; // shoelace over the pixel corners: the pixels inside the outline, exactly
  const points = [];
  const limit = 4 * (w + 1) * (h + 1);
  do {
    points.push([x + STEP_X[d] / 2 + bc0, y + STEP_Y[d] / 2 + br0]);
    twiceArea += x * (y + STEP_Y[d]) - (x + STEP_X[d]) * y;
    x += STEP_X[d];
    y += STEP_Y[d];
    const ar = AHEAD_RIGHT[d], al = AHEAD_LEFT[d];
    if (!inside(x + ar[0], y + ar[1])) d = (d + 1) % 4;
    else if (inside(x + al[0], y + al[1])) d = (d + 3) % 4;
  } while (!(x === sc && y === sr && d === 0) && points.length < limit);
  return { points: simplifyClosed(points, SIMPLIFY_TOLERANCE), filled: Math.abs(twiceArea) / 2 };
}

/** Douglas–Peucker on a closed outline (split at the point farthest from the first one). */
export function simplifyClosed(points, tolerance) {
  const n = points.length;
  if (n <= 4) return points.map(([x, y]) => [round2(x), round2(y)]);
  let far = 0, farD = -1;
  for (let i = 1; i < n; i++) {
    const d = (points[i][0] - points[0][0]) ** 2 + (points[i][1] - points[0][1]) ** 2;
    if (d > farD) { farD = d; far = i; }
  }
  const keep = new Uint8Array(n + 1);
  keep[0] = keep[far] = keep[n] = 1;
  const at = (i) => points[i % n];
  const stack = [[0, far], [far, n]];
  while (stack.length) {
    const [i0, i1] = stack.pop();
    const [ax, ay] = at(i0), [bx, by] = at(i1);
    const dx = bx - ax, dy = by - ay, len = Math.hypot(dx, dy);
    let worst = -1, worstD = tolerance;
    for (let i = i0 + 1; i < i1; i++) {
      const [px, py] = at(i);
      const d = len > 0 ? Math.abs(dx * (ay - py) - dy * (ax - px)) / len : Math.hypot(px - ax, py - ay);
      if (d > worstD) { worstD = d; worst = i; }
    }
    if (worst >= 0) {
      keep[worst] = 1;
      stack.push([i0, worst], [worst, i1]);
    }
  }
  const out = [];
  for (let i = 0; i < n; i++) if (keep[i]) out.push([round2(points[i][0]), round2(points[i][1])]);
  return out;
}

