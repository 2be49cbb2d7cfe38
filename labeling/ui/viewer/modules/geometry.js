/** Geometry of regions in image pixels: bounds, corners, point-in-polygon, a regions map made clean and
 * comparable. No DOM: unit-tested with Node. */

export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
export const round2 = (v) => Math.round(v * 100) / 100;
export const deepCopy = (value) => JSON.parse(JSON.stringify(value));

/** The [min x, min y, max x, max y] of a list of points. */
export function bounds(points) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
}

/** The 4 corners (clockwise from top-left) of the box spanned by two points. */
export function rectCorners(ax, ay, bx, by) {
  const x0 = Math.min(ax, bx), x1 = Math.max(ax, bx), y0 = Math.min(ay, by), y1 = Math.max(ay, by);
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
}

/** Even–odd point-in-polygon test. */
export function insidePolygon(x, y, points) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function regionContains(region, x, y) {
  if (region.shape === "rect") {
    const [x0, y0, x1, y1] = bounds(region.points);
    return x >= x0 && x <= x1 && y >= y0 && y <= y1;
  }
  return region.points.length >= 3 && insidePolygon(x, y, region.points);
}

/** The points a region is drawn and edited by (a rect always as its 4 corners). */
export function regionVertices(region) {
  if (region.shape === "rect") {
    const [x0, y0, x1, y1] = bounds(region.points);
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  }
  return region.points;
}

export function hasArea(points) {
  const [x0, y0, x1, y1] = bounds(points);
  return x1 - x0 >= 1 && y1 - y0 >= 1;
}

/** `regions` from data as a clean {image_id: [{label, shape, points}]} map without empty lists. */
export function normalizeRegions(raw) {
  const out = {};
  if (!raw || typeof raw !== "object") return out;
  for (const [key, list] of Object.entries(raw)) {
    if (!Array.isArray(list)) continue;
    const regions = list
      .filter((r) => r && Array.isArray(r.points) && r.points.length >= 2)
      .map((r) => ({
        label: String(r.label ?? ""),
        shape: ["rect", "polygon", "path"].includes(r.shape) ? r.shape : "polygon",
        points: r.points.map((p) => [Number(p[0]), Number(p[1])]),
      }));
    if (regions.length) out[String(key)] = regions;
  }
  return out;
}

/** A canonical string of a regions map (empty lists dropped, keys sorted) to compare two maps. */
export function canonical(map) {
  const keys = Object.keys(map).filter((k) => map[k] && map[k].length).sort();
  return JSON.stringify(keys.map((k) => [k, map[k]]));
}

