/** The viewer's keys and toolbar, and which key events belong to something else on the page. */

import { TOOLS } from "./tools/index.js";

// Derived from the tools (./tools/): each carries its key, toolbar text and tooltip.
export const TOOL_KEYS = Object.fromEntries(TOOLS.map((tool) => [tool.key, tool.name]));
export const LABEL_KEYS = { n: "no finding", h: "healthy", c: "cancerous" };
export const ACTION_KEYS = { s: "save", k: "skip", b: "back", u: "undo" };
export const DRAWING_TOOLS = new Set(TOOLS.filter((tool) => tool.drawing).map((tool) => tool.name));
// The toolbar above the viewer: [tool, button text, key, tooltip].
export const TOOLBAR = TOOLS.map((tool) => [tool.name, tool.button, tool.key.toUpperCase(), tool.tooltip]);

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

