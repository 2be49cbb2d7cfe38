/** The viewer's keys and toolbar, and which key events belong to something else on the page. */

export const TOOL_KEYS = { x: "box", p: "polygon", f: "freehand", m: "pan", w: "wl", l: "length", e: "brush", o: "outline" };
export const LABEL_KEYS = { n: "no finding", h: "healthy", c: "cancerous" };
export const ACTION_KEYS = { s: "save", k: "skip", b: "back", u: "undo" };
export const DRAWING_TOOLS = new Set(["box", "polygon", "freehand", "outline"]);
// The toolbar above the viewer: [tool, button text, key, tooltip].
export const TOOLBAR = [
  ["box", "Box", "X", "Box: drag a rectangle"],
  ["polygon", "Polygon", "P", "Polygon: click the vertices, click the first one (or Enter) to close"],
  ["freehand", "Freehand", "F", "Freehand: drag an outline"],
  ["brush", "Brush", "E", "Brush: paint onto the selected region (Shift erases, [ ] size)"],
  ["outline", "Outline", "O", "Quick outline: drag a rough box around a lesion, get its outline as a polygon"],
  ["length", "Length", "L", "Length: drag a line to measure it"],
  ["pan", "Pan", "M", "Pan: drag the image"],
  ["wl", "W/L", "W", "Window/level: drag (right drag does it with any tool)"],
];

/** Whether a key event comes from somewhere the user types (inputs inside shadow roots included). */
export function isTypingTarget(event) {
  const target = (event.composedPath && event.composedPath()[0]) || event.target;
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    const type = (target.type || "").toLowerCase();
    return !["button", "checkbox", "radio", "range", "submit", "reset", "image", "color", "file"].includes(type);
  }
  return !!target.isContentEditable;
}

/** Arrow keys on widgets that use them themselves (sliders, radio groups, menus) are left to them. */
export function usesArrowKeys(event) {
  const target = (event.composedPath && event.composedPath()[0]) || event.target;
  if (!target || !target.getAttribute) return false;
  if (target.tagName === "INPUT") return true;
  const role = target.getAttribute("role") || "";
  return ["slider", "spinbutton", "listbox", "combobox", "radio", "radiogroup", "option", "menu", "menuitem",
    "tab", "tablist", "grid", "gridcell", "tree", "treeitem"].includes(role);
}

