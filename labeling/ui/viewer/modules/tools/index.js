/**
 * The viewer's tools, in toolbar order. Each tool is one module with the same small interface:
 *   name, key (the keyboard shortcut), button, tooltip, drawing (whether it draws regions of a class);
 *   press(viewer, start, ix, iy) → true when it took the left-button press itself (optional);
 *   startShape(viewer, drag, startPoint): a press that moved becomes the tool's shape (optional);
 *   clickEmpty(viewer, ix, iy): a click beside every region (optional);
 *   gestures: {mode: {move(viewer, drag, p), end(viewer, drag, p), cancel(viewer, drag)}} for its drags.
 * Adding a tool is one module and one line here; the viewer routes pointer and keys to the active tool.
 */
import { box } from "./box.js";
import { brush } from "./brush.js";
import { EDIT_GESTURES } from "./edit.js";
import { freehand } from "./freehand.js";
import { length } from "./length.js";
import { outline } from "./outline.js";
import { pan } from "./pan.js";
import { polygon } from "./polygon.js";
import { wl } from "./wl.js";

export const TOOLS = [box, polygon, freehand, brush, outline, length, pan, wl];
export const TOOL_BY_NAME = Object.fromEntries(TOOLS.map((tool) => [tool.name, tool]));
export const GESTURES = Object.assign({}, EDIT_GESTURES, ...TOOLS.map((tool) => tool.gestures || {}));
