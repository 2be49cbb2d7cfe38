// Medal viewer's entry, as Streamlit (components v2) loads it: from a blob URL, where a relative import
// cannot resolve. The viewer itself is the ES modules of ./modules/, which Medal serves at /medal/viewer/
// (labeling/ui/web_routes.py); they import each other relatively. One module instance per page: a second
// evaluation of this entry (a rerun) gets the same, already loaded modules.
const { default: mount } = await import(new URL("/medal/viewer/viewer.js", window.location.origin).href);
export default mount;
