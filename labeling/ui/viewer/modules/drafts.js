/** Unsaved drawing kept in the tab's sessionStorage. */

export const DRAFT_PREFIX = "medal-draft:";

/**
 * Unsaved drawing survives anything but a save: every edit is kept in the tab's sessionStorage under
 * `data.draft_key` (the reader and the image, hashed by Python), with the saved regions and label it started
 * from. A viewer that (re)opens the image — re-mounted by Streamlit, or after a reload — takes it back when it
 * started from what is still saved; once saved (or edited back to what is saved) it is dropped.
 */
export function readDraft(key) {
  if (!key) return null;
  try {
    const raw = window.sessionStorage.getItem(DRAFT_PREFIX + key);
    const draft = raw ? JSON.parse(raw) : null;
    return draft && typeof draft === "object" && draft.shapes && typeof draft.shapes === "object" ? draft : null;
  } catch (_) {
    return null; // storage blocked or a damaged entry: no draft
  }
}

export function writeDraft(key, draft) {
  if (!key) return;
  try {
    if (draft) window.sessionStorage.setItem(DRAFT_PREFIX + key, JSON.stringify(draft));
    else window.sessionStorage.removeItem(DRAFT_PREFIX + key);
  } catch (_) { /* storage full or blocked: the Python session still holds the edits */ }
}
