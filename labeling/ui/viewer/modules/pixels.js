/** Pixels: fetch one slice's modality values from Medal's pixel route, decode them, and keep decoded slices
 * for the page (a fresh viewer instance reuses them). */

export const MAX_INFLIGHT = 4; // pixel requests at once
export const AUTH_RETRIES = 20; // 401/403 right after log-in: retry…
export const AUTH_RETRY_MS = 300; // …every 300 ms
export const CACHE_BUDGET_BYTES = 512 * 1024 * 1024; // decoded slices kept (nearest the shown one first)
// Decoded slices outlive a viewer instance: Streamlit may mount a fresh instance when the page around it
// changes (a toast, a warning above it), and the next image is usually a slice fetched already.
export const SHARED_PIXELS = (globalThis.__medalSharedPixels ||= new Map()); // image_id → pixels, oldest first (per page)

export function rememberPixels(imageId, pixels) {
  SHARED_PIXELS.delete(imageId);
  SHARED_PIXELS.set(imageId, pixels);
  let total = 0;
  for (const p of SHARED_PIXELS.values()) total += p.bytes;
  for (const [id, p] of SHARED_PIXELS) {
    if (total <= CACHE_BUDGET_BYTES) break;
    total -= p.bytes;
    SHARED_PIXELS.delete(id);
  }
}
export const DTYPES = { uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, float32: Float32Array };

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET one slice's modality values; the browser inflates the gzip body. */
export async function fetchPixels(url, signal) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, { credentials: "same-origin", signal, cache: "default" });
    if ((response.status === 401 || response.status === 403) && attempt < AUTH_RETRIES) {
      await sleep(AUTH_RETRY_MS); // the session cookie may still be being set right after log-in
      if (signal.aborted) throw new DOMException("aborted", "AbortError");
      continue;
    }
    if (!response.ok) {
      let reason = "";
      try {
        const body = await response.json();
        reason = body && body.error ? `: ${body.error}` : "";
      } catch (_) { /* not JSON */ }
      throw new Error(`HTTP ${response.status}${reason}`);
    }
    const dtype = (response.headers.get("X-Medal-Dtype") || "").trim();
    const shape = (response.headers.get("X-Medal-Shape") || "").split(",").map((s) => parseInt(s, 10));
    const buffer = await response.arrayBuffer();
    return decodePixels(buffer, dtype, shape);
  }
}

export function decodePixels(buffer, dtype, shape) {
  const Type = DTYPES[dtype];
  if (!Type) throw new Error(`unknown pixel type ${JSON.stringify(dtype)}`);
  const [rows, cols, samples = 1] = shape;
  if (!(rows > 0 && cols > 0)) throw new Error("missing pixel shape");
  const count = rows * cols * samples;
  if (buffer.byteLength !== count * Type.BYTES_PER_ELEMENT) {
    throw new Error(`expected ${count * Type.BYTES_PER_ELEMENT} bytes, got ${buffer.byteLength}`);
  }
  const values = new Type(buffer); // little-endian, as every browser platform is
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v; // NaN fails both tests
  }
  if (min === Infinity) { min = 0; max = 0; }
  return { rows, cols, samples, dtype, values, min, max, bytes: buffer.byteLength, integer: dtype !== "float32" };
}
