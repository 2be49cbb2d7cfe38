/** Window/level: the DICOM LINEAR VOI function and the window a report may carry. */

export const MAX_LUT_SIZE = 1 << 22; // integer ranges wider than this are windowed value by value

/** DICOM LINEAR VOI: modality value → 0..255 (MONOCHROME1 inverted afterwards). */
export function voiFunction(center, width, invert) {
  const c = center - 0.5;
  const w = Math.max(width - 1, 1e-6);
  return (v) => {
    let y = ((v - c) / w + 0.5) * 255;
    y = y <= 0 ? 0 : y >= 255 ? 255 : Math.round(y);
    return invert ? 255 - y : y;
  };
}

/** One grey level packed as an opaque RGBA pixel for a Uint32Array view (little-endian: ABGR). */
export const packGrey = (g) => (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;

export function validWindow(w) {
  if (!w || typeof w !== "object") return null;
  const center = Number(w.center), width = Number(w.width);
  if (!Number.isFinite(center) || !Number.isFinite(width)) return null;
  return { center, width: Math.max(width, 1) };
}
