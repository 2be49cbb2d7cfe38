"""From stored pixels to the 8-bit image a clinician sees, with pydicom's own transforms.

The order is the standard's: palette colour → modality LUT / rescale → VOI LUT or window →
MONOCHROME1 inverted after VOI → 8 bit. Enhanced multi-frame objects carry rescale and window in
their functional groups, which pydicom ignores; ``frame_view`` lifts them to the top level for
the frame being shown so pydicom's functions see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, apply_windowing
from pydicom.tag import Tag

from storage import InvalidWindow

# Top-level elements that the display pipeline reads; a frame view carries only these.
VIEW_KEYWORDS = (
    "PhotometricInterpretation", "SamplesPerPixel", "BitsAllocated", "BitsStored", "HighBit",
    "PixelRepresentation", "Rows", "Columns", "NumberOfFrames", "Modality",
    "RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence",
    "WindowCenter", "WindowWidth", "VOILUTFunction", "WindowCenterWidthExplanation", "VOILUTSequence",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "AlphaPaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData", "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData", "AlphaPaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData", "SegmentedAlphaPaletteColorLookupTableData",
    "PixelSpacing", "ImagerPixelSpacing", "PresentationLUTShape",
)
VIEW_TAGS = tuple(Tag(keyword) for keyword in VIEW_KEYWORDS)
VOI_KEYWORDS = ("WindowCenter", "WindowWidth", "VOILUTFunction", "WindowCenterWidthExplanation", "VOILUTSequence")
# A CT frame whose file carries no window is shown in a soft-tissue window (HU), as a reader would set it: its full
# range (air to bone, ~4,000 HU) puts a soft-tissue lesion and the muscle around it (30-50 HU apart) into one or
# two grey levels — for the reader and for the model, which learns from the picture as shown.
CT_DEFAULT_WINDOW = (40.0, 400.0, "Soft tissue (the file has no window)")


@dataclass(frozen=True)
class Window:
    """A window in the modality's units (e.g. HU for CT): centre and width."""

    center: float
    width: float

    def __post_init__(self) -> None:
        if not np.isfinite(self.center) or not np.isfinite(self.width):
            raise InvalidWindow("Window centre and width must be finite numbers.")
        if self.width < 1:
            raise InvalidWindow(f"Window width must be at least 1 (got {self.width:g}).")

    @classmethod
    def parse(cls, text: str) -> "Window":
        """``"CENTER,WIDTH"`` as typed on the command line, e.g. ``"40,400"``."""
        parts = [part.strip() for part in text.split(",")]
        try:
            center, width = (float(part) for part in parts)
        except ValueError as error:
            raise InvalidWindow(f"Expected a window as CENTER,WIDTH (e.g. 40,400), got {text!r}.") from error
        return cls(center, width)


def is_color(view: Dataset) -> bool:
    return str(view.get("PhotometricInterpretation", "")).upper() not in ("MONOCHROME1", "MONOCHROME2")


def frame_view(ds: Dataset, frame: int) -> Dataset:
    """A small data set with what the display pipeline needs for ``frame``.

    For enhanced multi-frame objects, per-frame (else shared) functional groups supply pixel
    measures, rescale and window, as the standard says they replace the top-level attributes.
    """
    view = Dataset()
    for tag in VIEW_TAGS:
        if tag in ds:
            view[tag] = ds.get_item(tag)  # raw: converted only if the pipeline reads it
    if hasattr(ds, "file_meta"):
        view.file_meta = ds.file_meta
    view.set_original_encoding(*ds.original_encoding, ds.original_character_set)
    groups = functional_groups(ds, frame)
    if groups:
        _lift_functional_groups(view, groups)
    if _ct_without_window(view):
        view.WindowCenter, view.WindowWidth, view.WindowCenterWidthExplanation = CT_DEFAULT_WINDOW
        view.VOILUTFunction = "LINEAR"
    return view


def _ct_without_window(view: Dataset) -> bool:
    """A grey CT frame in HU (it has a rescale, as the CT image module requires, of no other type) whose file
    gives no VOI LUT and no usable window."""
    if str(view.get("Modality", "")).upper() != "CT" or is_color(view) or "VOILUTSequence" in view:
        return False
    if "RescaleIntercept" not in view or str(view.get("RescaleType", "HU") or "HU").upper() != "HU":
        return False
    return not any(preset["kind"] == "window" for preset in window_presets(view))


def functional_groups(ds: Dataset, frame: int) -> list[Dataset]:
    """The frame's own functional groups first, then the shared ones."""
    found: list[Dataset] = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and frame < len(per_frame):
        found.append(per_frame[frame])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        found.append(shared[0])
    return found


def _lift_functional_groups(view: Dataset, groups: list[Dataset]) -> None:
    def first(sequence_keyword: str) -> Dataset | None:
        for group in groups:
            sequence = group.get(sequence_keyword)
            if sequence:
                return sequence[0]
        return None

    transform = first("PixelValueTransformationSequence")
    if transform is not None:
        for keyword in ("RescaleSlope", "RescaleIntercept", "RescaleType"):
            if keyword in transform:
                view[keyword] = transform[keyword]
    voi = first("FrameVOILUTSequence")
    if voi is not None and ("WindowCenter" in voi or "VOILUTSequence" in voi):
        for keyword in VOI_KEYWORDS:
            if keyword in view:
                del view[keyword]
        for keyword in VOI_KEYWORDS:
            if keyword in voi:
                view[keyword] = voi[keyword]
    measures = first("PixelMeasuresSequence")
    if measures is not None and "PixelSpacing" in measures:
        view.PixelSpacing = measures.PixelSpacing


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (MultiValue, list, tuple)) else [value]


def window_presets(view: Dataset) -> list[dict[str, Any]]:
    """Every window stored for this frame, each offered as a preset.

    ``{"name", "kind": "lut", "index"}`` for VOI LUT sequence items, and
    ``{"name", "kind": "window", "index", "center", "width", "function"}`` for centre/width pairs.
    """
    if is_color(view):
        return []
    presets: list[dict[str, Any]] = []
    for index, item in enumerate(view.get("VOILUTSequence") or []):
        name = str(item.get("LUTExplanation") or "").strip() or f"VOI LUT {index + 1}"
        presets.append({"name": name, "kind": "lut", "index": index})
    centers = _as_list(view.get("WindowCenter"))
    widths = _as_list(view.get("WindowWidth"))
    names = _as_list(view.get("WindowCenterWidthExplanation"))
    function = str(view.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    for index, (center, width) in enumerate(zip(centers, widths)):
        try:
            center_value, width_value = float(center), float(width)
        except (TypeError, ValueError):
            continue
        if not (np.isfinite(center_value) and np.isfinite(width_value)) or width_value <= 0:
            continue
        name = str(names[index]).strip() if index < len(names) and str(names[index]).strip() else ""
        presets.append({
            "name": name or f"Window {index + 1} (C {center_value:g} / W {width_value:g})",
            "kind": "window", "index": index,
            "center": center_value, "width": width_value, "function": function,
        })
    return presets


def to_modality(stored: np.ndarray, view: Dataset) -> np.ndarray:
    """Stored values → modality values (e.g. HU) for grey images, 8-bit RGB for colour images."""
    photometric = str(view.get("PhotometricInterpretation", "")).upper()
    if photometric == "PALETTE COLOR":
        bits = int(view.RedPaletteColorLookupTableDescriptor[2])
        return _blockwise_uint8(stored, lambda part: _scale_to_uint8(apply_color_lut(part, view)[..., :3],
                                                                    0, 2**bits - 1), channels=3)
    if is_color(view):
        if stored.dtype == np.uint8:
            return np.ascontiguousarray(stored[..., :3]) if stored.ndim == 3 else stored
        bits = int(view.get("BitsStored", 8) or 8)
        return _blockwise_uint8(stored, lambda part: _scale_to_uint8(part, 0, 2**bits - 1), channels=stored.shape[2:])
    if "RescaleSlope" not in view and "ModalityLUTSequence" not in view:
        return _compact(stored)
    return _rescaled(stored, view)


# The pipeline works on blocks of rows so that its float64 temporaries never exist for a whole large
# frame: a 40-megapixel mammogram costs its values and its 8-bit picture, not 5 copies in float64.
BLOCK_PIXELS = 1 << 20


def _row_blocks(shape: tuple[int, ...]) -> list[slice]:
    per_row = max(int(np.prod(shape[1:2])), 1)
    step = max(1, BLOCK_PIXELS // per_row)
    return [slice(start, start + step) for start in range(0, shape[0], step)]


def _blockwise_uint8(values: np.ndarray, function: Any, channels: int | tuple[int, ...] = ()) -> np.ndarray:
    """``function`` (an elementwise map to uint8) applied block by block into one output."""
    extra = (channels,) if isinstance(channels, int) else tuple(channels)
    out = np.empty(values.shape[:2] + extra, dtype=np.uint8)
    for rows in _row_blocks(values.shape):
        out[rows] = function(values[rows])
    return out


def _rescaled(stored: np.ndarray, view: Dataset) -> np.ndarray:
    """The modality LUT or rescale applied in blocks, stored in the smallest exact dtype (see ``_compact``)."""
    blocks = _row_blocks(stored.shape)
    if len(blocks) == 1:
        return _compact(apply_modality_lut(stored, view))
    first = apply_modality_lut(stored[blocks[0]], view)
    if first.dtype.kind != "f":  # a modality LUT: integers of a fixed dtype
        out = np.empty(stored.shape, dtype=first.dtype)
        for rows in blocks:
            out[rows] = apply_modality_lut(stored[rows], view)
        return out
    finite, integral, low, high = True, True, np.inf, -np.inf
    for rows in blocks:  # first pass: what dtype holds every value exactly
        part = apply_modality_lut(stored[rows], view)
        finite = finite and bool(np.isfinite(part).all())
        if finite:
            integral = integral and bool(np.all(part == np.round(part)))
            low, high = min(low, float(part.min())), max(high, float(part.max()))
    out = np.empty(stored.shape, dtype=_exact_dtype(finite and integral, low, high))
    for rows in blocks:
        out[rows] = apply_modality_lut(stored[rows], view)
    return out


def _exact_dtype(integral: bool, low: float, high: float) -> type:
    """int16 or int32 for integers in their range, else float32."""
    if integral:
        for dtype in (np.int16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= low and high <= info.max:
                return dtype
    return np.float32


def _compact(values: np.ndarray) -> np.ndarray:
    """The smallest dtype that holds ``values`` exactly (integers stay integers)."""
    if values.dtype.kind == "f":
        finite = bool(np.isfinite(values).all())
        integral = finite and bool(np.all(values == np.round(values)))
        low, high = (float(values.min()), float(values.max())) if finite and values.size else (0.0, 0.0)
        return values.astype(_exact_dtype(integral, low, high))
    if values.dtype == bool:
        return values.astype(np.uint8)
    return values


def to_display(modality: np.ndarray, view: Dataset, window: Window | int | None = None) -> np.ndarray:
    """Modality values → 8-bit display image.

    ``window`` is None for the file's default (VOI LUT sequence first, then the first stored
    window, else the frame's min–max), a preset index from ``window_presets``, or a ``Window``.
    """
    if is_color(view):
        return modality
    voi_view = _voi_view(view, window)
    if "VOILUTSequence" in voi_view:
        def show(part: np.ndarray) -> np.ndarray:
            values = np.round(part).astype(np.int64) if part.dtype.kind == "f" else part
            return apply_voi_lut(values, voi_view, index=0)
        low, high = 0, _lut_output_max(voi_view)
    elif "WindowCenter" in voi_view and "WindowWidth" in voi_view:
        def show(part: np.ndarray) -> np.ndarray:
            return apply_windowing(part, voi_view, index=0)
        low, high = apply_windowing(np.array([-np.inf, np.inf]), voi_view, index=0)
        if high <= low:  # a window function that reaches no end (e.g. SIGMOID): the values' own range
            low, high = _finite_range(modality, show)
    else:
        def show(part: np.ndarray) -> np.ndarray:
            return part
        low, high = _finite_range(modality, show)
    image = _blockwise_uint8(modality, lambda part: _scale_to_uint8(show(part), low, high))
    if str(view.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        np.subtract(255, image, out=image)
    return image


def _finite_range(values: np.ndarray, function: Any) -> tuple[float, float]:
    """The smallest and largest finite value of ``function(values)``, block by block; (0, 1) when none."""
    low, high = np.inf, -np.inf
    for rows in _row_blocks(values.shape):
        part = function(values[rows])
        if part.dtype.kind == "f":
            part = part[np.isfinite(part)]
        if part.size:
            low, high = min(low, float(part.min())), max(high, float(part.max()))
    return (low, high) if low <= high else (0.0, 1.0)


def _voi_view(view: Dataset, window: Window | int | None) -> Dataset:
    """A copy of the VOI part of ``view`` that selects exactly one window or LUT."""
    voi = Dataset()
    for keyword in ("PhotometricInterpretation", "BitsStored", "PixelRepresentation",
                    "RescaleSlope", "RescaleIntercept", "ModalityLUTSequence"):
        if keyword in view:
            voi[keyword] = view[keyword]
    if hasattr(view, "file_meta"):
        voi.file_meta = view.file_meta
    voi.set_original_encoding(*view.original_encoding, view.original_character_set)
    presets = window_presets(view)
    if isinstance(window, Window):
        voi.WindowCenter, voi.WindowWidth = window.center, window.width
        voi.VOILUTFunction = str(view.get("VOILUTFunction", "LINEAR") or "LINEAR")
        return voi
    if window is None:
        if not presets:
            return voi
        preset = presets[0]
    else:
        if not 0 <= window < len(presets):
            raise InvalidWindow(f"This image has {len(presets)} stored window(s); preset {window} does not exist.")
        preset = presets[window]
    if preset["kind"] == "lut":
        voi.VOILUTSequence = [view.VOILUTSequence[preset["index"]]]
    else:
        voi.WindowCenter, voi.WindowWidth = preset["center"], preset["width"]
        voi.VOILUTFunction = preset["function"]
    return voi


def default_voi_lut(view: Dataset) -> dict[str, Any] | None:
    """The frame's default VOI LUT as plain numbers ``{"first", "data", "max"}`` when its default rendering is
    a VOI LUT sequence (what a browser needs to render it the same way), else None."""
    if is_color(view) or not view.get("VOILUTSequence"):
        return None
    voi = _voi_view(view, None)
    if "VOILUTSequence" not in voi:
        return None
    item = voi.VOILUTSequence[0]
    entries, first = int(item.LUTDescriptor[0]) or 2**16, int(item.LUTDescriptor[1])
    table = apply_voi_lut(np.arange(first, first + entries, dtype=np.int64), voi, index=0)
    return {"first": first, "data": [int(v) for v in table], "max": _lut_output_max(voi)}


def _lut_output_max(voi: Dataset) -> int:
    """The largest value the VOI LUT can produce: its nominal depth, or the bits actually used."""
    item = voi.VOILUTSequence[0]
    entries = int(item.LUTDescriptor[0]) or 2**16
    first = int(item.LUTDescriptor[1])
    table = apply_voi_lut(np.arange(first, first + entries, dtype=np.int64), voi, index=0)
    nominal_bits = int(item.LUTDescriptor[2])
    used_bits = max(int(table.max()).bit_length(), 1)
    return 2 ** min(nominal_bits, used_bits) - 1


def _scale_to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (values.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)
