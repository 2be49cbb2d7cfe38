// Unit tests of the viewer's pure modules (no DOM): run by tests/ui/test_viewer_modules.py with Node, or in
// Chromium where Node is missing. Each test throws on failure.
import { bounds, canonical, hasArea, insidePolygon, normalizeRegions, regionContains } from "../../../labeling/ui/viewer/modules/geometry.js";
import { packGrey, validWindow, voiFunction } from "../../../labeling/ui/viewer/modules/voi.js";
import { fillPolygon, simplifyClosed, stampCapsule, traceMask } from "../../../labeling/ui/viewer/modules/mask.js";
import { decodePixels } from "../../../labeling/ui/viewer/modules/pixels.js";

function equal(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function shoelace(points) {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i], [x1, y1] = points[(i + 1) % points.length];
    twice += x0 * y1 - x1 * y0;
  }
  return Math.abs(twice) / 2;
}

export const tests = {
  "linear VOI maps the window's ends to black and white and its centre to mid-grey (DICOM C.11.2.1.2)": () => {
    const voi = voiFunction(40, 400, false);
    equal([voi(-160), voi(40), voi(240), voi(-1000), voi(3000)], [0, 128, 255, 0, 0 + 255], "CT soft tissue");
    equal(voiFunction(40, 400, true)(240), 0, "MONOCHROME1 inverted");
  },
  "a grey level packs as an opaque pixel": () => {
    equal(packGrey(0x80), 0xff808080, "0x80");
  },
  "a reported window is numbers with a width of at least 1, else nothing": () => {
    equal(validWindow({ center: "40", width: 0 }), { center: 40, width: 1 }, "strings and zero width");
    equal(validWindow({ center: "x", width: 10 }), null, "not a number");
    equal(validWindow(null), null, "missing");
  },
  "regions: bounds, inside tests and the clean, comparable map": () => {
    equal(bounds([[3, 4], [1, 9], [7, 2]]), [1, 2, 7, 9], "bounds");
    const square = [[0, 0], [10, 0], [10, 10], [0, 10]];
    equal([insidePolygon(5, 5, square), insidePolygon(11, 5, square)], [true, false], "point in polygon");
    equal(regionContains({ shape: "rect", points: [[10, 10], [2, 2]] }, 3, 3), true, "a rect drawn backwards");
    equal(hasArea([[0, 0], [0.5, 10]]), false, "a sliver has no area");
    const clean = normalizeRegions({ 7: [{ label: "Cancerous", shape: "oval", points: [[1, "2"], [3, 4]] }, { points: [[1, 1]] }],
      8: "junk", 9: [] });
    equal(clean, { 7: [{ label: "Cancerous", shape: "polygon", points: [[1, 2], [3, 4]] }] }, "normalised");
    equal(canonical({ 2: [1], 1: [2], 3: [] }), canonical({ 1: [2], 2: [1] }), "key order and empty lists do not count");
  },
  "a filled polygon covers the pixels whose centres are inside, and tracing it gives them back": () => {
    const cols = 12, rows = 10, mask = new Uint8Array(cols * rows);
    const filled = fillPolygon(mask, cols, rows, [[2, 2], [6, 2], [6, 6], [2, 6]]);
    equal(filled, { box: [2, 2, 5, 5], count: 16 }, "a 4×4 square");
    const traced = traceMask(mask, cols, rows, filled.box);
    equal(traced.filled, 16, "pixels inside the traced outline");
    equal(shoelace(traced.points), 12.5, "the outline runs through the boundary pixels' centres (4×4 minus the corner halves)");
  },
  "tracing keeps the largest part and fills its holes": () => {
    const cols = 10, rows = 10, mask = new Uint8Array(cols * rows);
    fillPolygon(mask, cols, rows, [[1, 1], [6, 1], [6, 6], [1, 6]]); // 5×5
    mask[3 * cols + 3] = 0; // a hole
    mask[8 * cols + 8] = 1; // a speck elsewhere
    equal(traceMask(mask, cols, rows, [0, 0, 9, 9]).filled, 25, "hole filled, speck left out");
    equal(traceMask(new Uint8Array(100), 10, 10, [0, 0, 9, 9]), null, "an empty mask has no outline");
  },
  "the brush stamps a disc and the eraser takes exactly it back": () => {
    const cols = 20, rows = 20, mask = new Uint8Array(cols * rows), counter = { changed: 0 };
    stampCapsule(mask, cols, rows, 10, 10, 10, 10, 2, 1, counter);
    const painted = counter.changed;
    equal(painted, mask.reduce((a, b) => a + b, 0), "changes counted");
    if (painted < 12 || painted > 13) throw new Error(`a radius-2 disc covers 12–13 pixels, not ${painted}`);
    counter.changed = 0;
    stampCapsule(mask, cols, rows, 10, 10, 10, 10, 2, 0, counter);
    equal([counter.changed, mask.reduce((a, b) => a + b, 0)], [painted, 0], "erased");
    equal(stampCapsule(mask, cols, rows, -50, -50, -40, -40, 2, 1, null), null, "off the image");
  },
  "simplifying a closed outline drops points on straight runs only": () => {
    const run = [[0, 0], [1, 0], [2, 0], [3, 0], [3, 1], [3, 2], [3, 3], [2, 3], [1, 3], [0, 3], [0, 2], [0, 1]];
    equal(simplifyClosed(run, 0.5), [[0, 0], [3, 0], [3, 3], [0, 3]], "a square's corners");
  },
  "pixels decode with their range, and a short body is refused": () => {
    const values = new Uint16Array([1, 5, 3, 2]);
    const pixels = decodePixels(values.buffer, "uint16", [2, 2]);
    equal([pixels.rows, pixels.cols, pixels.min, pixels.max, pixels.integer], [2, 2, 1, 5, true], "uint16");
    let refused = null;
    try { decodePixels(values.buffer, "uint16", [3, 2]); } catch (error) { refused = error.message; }
    equal(refused, "expected 12 bytes, got 8", "short body");
  },
};

/** Run every test; the names of the failures with their messages ({} when all pass). */
export async function runAll() {
  const failures = {};
  for (const [name, test] of Object.entries(tests)) {
    try { await test(); } catch (error) { failures[name] = String(error && error.message || error); }
  }
  return { count: Object.keys(tests).length, failures };
}
