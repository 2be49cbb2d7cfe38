"""``medal bench real DIR``: the model's help on a folder of real labeled images — anyone's own data.

DIR holds the images and ``truth.json`` (or a COCO file: ``benchmarks.coco_truth``; DIR may also be the COCO
file itself; or, with neither, the images with their lesion masks beside them: ``benchmarks.mask_pairs``):
``{name: {"image": relative path, "mask": relative path of a lesion mask (0 = background, anything else =
lesion; optional; or "masks": several, their union), "boxes": [[x, y, w, h], ...] (used where
there is no mask), "has_finding": bool, "patient": optional}}`` — the layout of
``../shared/data/real-lesions``. For each seed a fresh, temporary project imports every image with the
product's own import; ``labels`` of them (80% with a lesion; drawn by the seed) are labeled as an expert
would: each lesion's outline (from its mask) as *Cancerous*, the others *no finding*; the product's own
loop trains and scores the rest, heatmaps included. On the images not labeled it reports:

- ``image_auc``: ROC AUC of the image probability, lesion against none;
- ``peak_on_lesion``: of the lesion images, how often the heatmap's peak is within 8 px of a lesion pixel,
  beside ``centre_on_lesion``: how often the picture's centre is (the trivial answer — on sets cropped around
  their lesions it is nearly always, and a peak rate below it says nothing about localisation);
- ``proposals_without_lesion``: of the lesion-free images, how often a proposal appears at all;
- ``peaks_at_edge``: of all images, how often the heatmap's peak is within 16 px of the picture's edge;
- ``proposal_recall``: of the lesion images, how often an accepted proposal's outline touches a lesion;
- ``proposal_dice``: where a proposal hits a lesion, the Dice of the outlines Accept makes (each proposal's
  ``outline`` in ``medal predictions --json``: ``learner.with_outlines``) against that lesion's mask;
- ``outline_dice``: the quick outline from rough boxes (each lesion's box grown by 10–40% per side and
  shifted up to 10%), mean Dice against the mask, beside filling the box, the ellipse inscribed in it and
  that ellipse shrunk to 70% (``shrunk_ellipse_dice``: the best answer from the box's shape alone), on the
  picture as the clinician sees it, and its median milliseconds — on the lesions of images not labeled, since
  the quick outline learns from the project's outlines (``labeling.labels.learned_outline``; ``learned_outline``:
  the modalities whose learnt outline the project uses, ``classic_outline_dice``: the classic outline on the same
  boxes);
- ``snug_outline_dice``, ``snug_box_dice``, ``snug_ellipse_dice``, ``snug_classic_outline_dice``: the same from
  snug boxes (10–40% larger
  than the lesion in all, shifted up to 5%: ``benchmarks.outline.snug_box``, the boxes of the external
  review's figures), drawn from their own generator so the rough boxes stay what they were;
- ``train_s`` (``outline_fit_s`` of it: fitting the learnt quick outline) and ``score_ms_per_image``;
- ``by_modality``: where the truth names more than one ``modality``, the image AUC, peak and centre rates,
  proposals without a lesion, outline and shrunk-ellipse Dice of each (a mixed set's mean hides which kind of
  picture the model helps on).

Patients: PNG/TIFF files carry none; where ``truth.json`` names an image's ``patient`` (and ``modality``,
``study``), the benchmark gives the imported picture that patient, as a DICOM import would have known it,
so the validation split keeps a patient's slices on one side. Without it each picture is its own patient
and the validation figures of the trained version leak (slices of one patient on both sides).
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage
from skimage.measure import find_contours
from sklearn.metrics import roc_auc_score
from sqlmodel import Session, select

from benchmarks.coco_truth import coco_truth, is_coco, segmentation_mask
from benchmarks.ingest import fresh_project
from benchmarks.mask_pairs import has_pairs, paired_truth, read_mask
from benchmarks.outline import box_mask, mask_dice, rasterise, rough_box, snug_box
from labeling.intake import import_paths
from labeling.labels import RegionInput, outline_in_box, project_outline_model, render_frame, save_annotation
from learner import PROJECT_CONFIG, prediction_rows, pretrain_project, train_and_publish, with_outlines
from storage import Image, MedalError, Patient, Project, Series, Study, fix_patient_key_secret

FINDING = "Cancerous"
PEAK_TOLERANCE_PX = 8.0
EDGE_PX = 16.0  # a heatmap peak this close to the picture's edge counts as on the edge
LESION_SHARE = 0.8
# The inscribed ellipse shrunk to 70% about its centre: for boxes 10–40% too big per side (``rough_box``) the
# best answer from the box's shape alone; an outline that does not beat it has learnt nothing from the picture.
SHRUNK_ELLIPSE = 0.7
EXPERT = "bench-expert"


class TruthError(MedalError):
    """A folder ``medal bench real`` cannot read: no ``truth.json`` or COCO file, or entries that name no image."""


TRUTH_FILE = "truth.json"
COCO_NAMES = ("coco.json", "annotations.json", "instances.json")


@dataclass
class Truth:
    """A labeled folder as ``medal bench real`` reads it: the folder images are named from, one entry per image
    (``truth.json``'s layout), where the entries came from, and what was left out and why."""

    folder: Path
    entries: dict[str, dict[str, Any]]
    source: str
    left_out: list[str] = field(default_factory=list)


def load_truth(path: Path) -> Truth:
    """The truth of ``path``: a folder with a ``truth.json``; a COCO file, or a folder holding one (``coco.json``,
    ``annotations.json``, ``instances.json``, or its only COCO ``.json``); else a folder of images with their
    masks beside them (``benchmarks.mask_pairs``). Every entry names an existing image."""
    if path.is_file():
        truth = Truth(path.parent, _coco_file(path), f"COCO file {path.name}")
    elif (path / TRUTH_FILE).is_file():
        truth = Truth(path, json.loads((path / TRUTH_FILE).read_text()), TRUTH_FILE)
    elif (coco := _coco_in(path)) is not None:
        truth = Truth(path, _coco_file(coco), f"COCO file {coco.name}")
    elif has_pairs(path):
        paired = paired_truth(path)
        if not paired.truth:
            raise TruthError(f"{path} has masks but no image could be paired with one: {paired.left_out[0]}.")
        truth = Truth(path, paired.truth, "image/mask pairs", paired.left_out)
    else:
        raise TruthError(f"{path} has no truth.json, no COCO .json and no lesion masks beside its images: give a "
                         "folder of images with a truth.json, one COCO file, or images with their masks "
                         "(name_mask.png beside name.png, or masks/ beside images/; see `medal bench real --help`).")
    missing = [name for name, entry in truth.entries.items()
               if not (truth.folder / entry.get("image", name)).is_file()]
    if missing:
        raise TruthError(f"The truth names {len(missing)} image(s) that are not in {truth.folder}, e.g. {missing[0]}.")
    return truth


def _coco_in(folder: Path) -> Path | None:
    """The folder's COCO file; None where it has none; ``TruthError`` where it has more than one."""
    named = [folder / name for name in COCO_NAMES
             if (folder / name).is_file() and is_coco(_json_or_none(folder / name))]
    found = named or [path for path in sorted(folder.glob("*.json")) if is_coco(_json_or_none(path))]
    if len(found) > 1:
        raise TruthError(f"{folder} has no truth.json and more than one COCO .json: give a folder of images with a "
                         "truth.json or one COCO file, or the COCO file itself (see `medal bench real --help`).")
    return found[0] if found else None


def _json_or_none(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _coco_file(path: Path) -> dict[str, dict[str, Any]]:
    document = _json_or_none(path)
    if not is_coco(document):
        raise TruthError(f"{path} is not a COCO file (a JSON object with images and annotations lists).")
    return coco_truth(document)


def lesion_mask(folder: Path, entry: dict[str, Any], shape: tuple[int, int]) -> np.ndarray:
    """The lesion pixels of an image: its mask file(s) (``mask``, or ``masks``: their union), else its COCO
    segmentations, else its boxes filled."""
    files = [entry["mask"]] if entry.get("mask") else entry.get("masks") or []
    if files:
        mask = np.zeros(shape, bool)
        for name in files:
            pixels = read_mask(folder / name)
            if pixels.shape != tuple(shape):
                raise TruthError(f"The mask {name} is {pixels.shape[1]}×{pixels.shape[0]} pixels and its image "
                                 f"{shape[1]}×{shape[0]}: a mask must be the size of its image.")
            mask |= pixels
        return mask
    if "segmentations" in entry:
        return segmentation_mask(entry["segmentations"], shape)
    mask = np.zeros(shape, bool)
    for x, y, w, h in entry.get("boxes", []):
        mask[int(y):int(y + h) + 1, int(x):int(x + w) + 1] = True
    return mask


def modality_of(entry: dict[str, Any]) -> str:
    """The group an image's figures are also reported under: its truth's ``modality``, else ``"all"``."""
    return str(entry.get("modality") or "all")


def of_modality(truth: dict[str, dict[str, Any]], modality: str) -> dict[str, dict[str, Any]]:
    """The entries of ``truth`` whose ``modality`` is ``modality``; ``TruthError`` naming those there are when none
    is."""
    kept = {name: entry for name, entry in truth.items() if modality_of(entry) == modality}
    if not kept:
        there = ", ".join(sorted({modality_of(entry) for entry in truth.values()}))
        raise TruthError(f"No image of the truth has the modality {modality!r}; it has: {there}. "
                         "Give one of those to --modality, or leave it out.")
    return kept


def outlines_of(mask: np.ndarray) -> list[list[list[float]]]:
    """One polygon per connected lesion (8-connected, ≥ 10 px): what an expert would draw, in image pixels."""
    components, count = ndimage.label(mask, structure=np.ones((3, 3)))
    polygons = []
    for index in range(1, count + 1):
        part = components == index
        if part.sum() < 10:
            continue
        contour = max(find_contours(np.pad(part, 1).astype(float), 0.5), key=len) - 1
        step = max(1, len(contour) // 200)
        polygons.append([[float(c), float(r)] for r, c in contour[::step]])
    return polygons


def bench_real(folder: Path, *, labels: int = 80, seeds: int = 1, images: int | None = None,
               progress: Callable[[str], None] | None = None, out: Path | None = None,
               pretrain_steps: int = 0, modality: str | None = None) -> dict[str, Any]:
    """Run the benchmark for ``seeds`` seeds on ``folder`` (on ``images`` of its images, drawn by the seed, or all
    of them; with ``modality``, only those whose truth names it); per-seed figures and their spread."""
    found = load_truth(folder.resolve())
    folder, truth = found.folder, found.entries
    say = progress or (lambda message: None)
    say(f"truth: {found.source}, {len(truth)} images" + (f"; left out {len(found.left_out)}, e.g. "
                                                         f"{found.left_out[0]}" if found.left_out else ""))
    if modality is not None:
        truth = of_modality(truth, modality)
    warnings = unitless_ct(folder, truth)
    for warning in warnings:
        say(warning)
    runs = []
    for seed in range(seeds):
        names = sorted(truth)
        if images is not None and images < len(names):
            names = sorted(np.random.default_rng(1000 + seed).choice(names, images, replace=False))
        runs.append(_one_seed(folder, {name: truth[name] for name in names}, labels, seed,
                              say, pretrain_steps))
    report: dict[str, Any] = {"folder": str(folder), "truth": found.source, "left_out": found.left_out,
                              "warnings": warnings, "modality": modality,
                              "images": min(images or len(truth), len(truth)), "labels": labels, "seeds": seeds,
                              "pretrain_steps": pretrain_steps, "runs": runs}
    for key in ("image_auc", "peak_on_lesion", "centre_on_lesion", "peaks_at_edge", "proposals_without_lesion",
                "proposal_recall", "proposal_dice", "outline_dice", "box_dice", "ellipse_dice", "shrunk_ellipse_dice",
                "snug_outline_dice", "snug_box_dice", "snug_ellipse_dice", "classic_outline_dice",
                "snug_classic_outline_dice", "outline_ms", "train_s", "outline_fit_s", "pretrain_s",
                "score_ms_per_image"):
        values = [run[key] for run in runs if run.get(key) is not None]
        if values:
            report[key] = {"median": round(statistics.median(values), 4), "min": round(min(values), 4),
                           "max": round(max(values), 4)}
    groups = sorted({name for run in runs for name in run.get("by_modality", {})})
    if groups:
        report["by_modality"] = {name: _medians([run["by_modality"].get(name, {}) for run in runs]) for name in groups}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    return report


DEEP_RASTER_MODES = ("I;16", "I;16B", "I;16L", "I")  # PIL's modes of 16- and 32-bit grey pictures


def unitless_ct(folder: Path, truth: dict[str, dict[str, Any]]) -> list[str]:
    """A warning (one sentence, [] when none) where the truth names CT images that are 16-bit PNG/TIFF: a picture
    without units opens in its percentile window, not in a CT's soft-tissue window, so the model is measured on
    pictures where a soft-tissue lesion barely differs from muscle — not on CT as Medal opens a hospital's."""
    deep = []
    for name, entry in sorted(truth.items()):
        if not modality_of(entry).upper().startswith("CT"):
            continue
        try:
            with PILImage.open(folder / entry.get("image", name)) as picture:
                if picture.mode in DEEP_RASTER_MODES:
                    deep.append(name)
        except (OSError, ValueError):  # not a raster (a DICOM file): it has its units
            continue
    if not deep:
        return []
    return [f"{len(deep)} CT image(s) are 16-bit PNG/TIFF (e.g. {deep[0]}): with no units they open in their "
            "0.5-99.5 percentile window, where a soft-tissue lesion is a grey level or two from muscle, not in the "
            "soft-tissue window a CT in HU opens in; to measure CT as Medal opens it, run `medal bench ct-as-dicom "
            f"{folder} OUT --hu-offset N` (N: what the files add to HU) and `medal bench real OUT`."]


def _medians(figures: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the seeds that have it."""
    keys = sorted({key for one in figures for key in one})
    medians = {}
    for key in keys:
        values = [one[key] for one in figures if one.get(key) is not None]
        if values:
            medians[key] = round(statistics.median(values), 4)
    return medians


def _one_seed(folder: Path, truth: dict[str, dict[str, Any]], labels: int, seed: int,
              progress: Callable[[str], None], pretrain_steps: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    with fresh_project() as project:
        # DICOM patients get pseudonymous keys from the project's secret, random in a new project: the patient-level
        # validation split, and every figure, changed from run to run of one seed (mixed set with CT as DICOM, seed
        # 0: image AUC 0.58-0.68 over four runs). A secret of the seed's makes a seed's run the same every time.
        fix_patient_key_secret(project.engine, hashlib.sha256(f"medal bench real {seed}".encode()).digest())
        progress(f"seed {seed}: importing {len(truth)} images")
        import_paths([str(folder / entry.get("image", name)) for name, entry in truth.items()], project=project)
        with Session(project.engine) as session:
            by_path = {Path(image.path).resolve(): image for image in session.exec(select(Image)).all()}
        images = {name: by_path[(folder / entry.get("image", name)).resolve()] for name, entry in truth.items()
                  if (folder / entry.get("image", name)).resolve() in by_path}
        attach_patients(project, images, truth)
        with Session(project.engine) as session:  # as attached: the quick outline is learnt per modality
            images = {name: session.get(Image, image.id) for name, image in images.items()}
        masks = {name: lesion_mask(folder, truth[name], (image.rows, image.cols)) for name, image in images.items()}
        with_lesion = sorted(name for name in images if masks[name].any())
        without = sorted(name for name in images if not masks[name].any())
        wanted = min(round(labels * LESION_SHARE), len(with_lesion))
        chosen = list(rng.choice(with_lesion, wanted, replace=False)) + \
            list(rng.choice(without, min(labels - wanted, len(without)), replace=False))
        for name in chosen:
            regions = [RegionInput(FINDING, "polygon", points) for points in outlines_of(masks[name])]
            save_annotation(images[name].id, EXPERT, regions, image_label=None if regions else "no finding",
                            engine=project.engine)
        pretrain_s = None
        if pretrain_steps:
            progress(f"seed {seed}: pre-training the features on the pool ({pretrain_steps} steps)")
            started = time.monotonic()
            pretrain_project(PROJECT_CONFIG, pretrain_steps, seed, project=project)
            pretrain_s = round(time.monotonic() - started, 1)
        progress(f"seed {seed}: training on {len(chosen)} labels")
        result = train_and_publish(project, lambda fraction, message: None, strategy_name="default")
        held_out = {images[name].id: name for name in images if name not in set(chosen)}
        groups = {name: modality_of(truth[name]) for name in images}
        figures = _model_figures(project, held_out, masks, groups)
        progress(f"seed {seed}: quick outlines")
        outlines = _outline_figures(project, {name: images[name] for name in with_lesion}, masks, rng, groups,
                                    set(chosen))
        for name, found in outlines.pop("outline_by_modality", {}).items():
            figures.setdefault("by_modality", {}).setdefault(name, {}).update(found)
        figures |= outlines
        return {"seed": seed, "train_s": result["train_s"], "outline_fit_s": result["outline_s"],
                "pretrain_s": pretrain_s,
                "score_ms_per_image": round(1000 * result["ready_s"] / max(result["scored"], 1), 2),
                "validation_auc": round(result["metrics"].get("auc", float("nan")), 4),
                "validation_image_auc": round(result["metrics"].get("image_auc", float("nan")), 4), **figures}


def attach_patients(project: Project, images: dict[str, Image], truth: dict[str, dict[str, Any]]) -> int:
    """Give PNG/TIFF images the patient (and modality) ``truth.json`` names, as a DICOM import would have
    known them: the validation split then keeps a patient's slices on one side (without it each picture is
    its own patient, and the validation figures leak). Returns how many images got one."""
    attached = 0
    with Session(project.engine) as session:
        series_of: dict[tuple[str, str], int] = {}
        for name, image in images.items():
            entry, row = truth[name], session.get(Image, image.id)
            patient = entry.get("patient")
            if row is not None and not row.modality and entry.get("modality"):
                row.modality = entry["modality"]  # what the quick outline is learnt by, patient or not
                session.add(row)
            if not patient or row is None or row.series_id is not None:
                continue
            group = (str(patient), str(entry.get("study") or patient))
            if group not in series_of:
                key = "B" + hashlib.sha256(group[0].encode()).hexdigest()[:12].upper()
                found = session.exec(select(Patient).where(Patient.key == key)).first()
                if found is None:
                    found = Patient(key=key)
                    session.add(found)
                    session.flush()
                study = Study(patient_id=found.id, study_instance_uid=f"bench.{key}.{len(series_of)}")
                session.add(study)
                session.flush()
                series = Series(study_id=study.id, series_instance_uid=f"bench.{key}.{len(series_of)}.1",
                                modality=entry.get("modality"))
                session.add(series)
                session.flush()
                series_of[group] = series.id
            row.series_id, row.modality = series_of[group], row.modality or entry.get("modality")
            session.add(row)
            attached += 1
        session.commit()
    return attached


@dataclass
class _Seen:
    """One held-out image as the benchmark saw it."""

    group: str
    lesion: bool
    score: float
    peak_hit: bool | None  # the heatmap's peak within PEAK_TOLERANCE_PX of a lesion (lesion images with a peak)
    centre_hit: bool  # the picture's centre within PEAK_TOLERANCE_PX of a lesion (the trivial peak)
    proposed: bool


def near_lesion(distance: np.ndarray, x: float, y: float) -> bool:
    """Whether image point (x, y) lies within ``PEAK_TOLERANCE_PX`` of a lesion, given each pixel's ``distance`` to
    the nearest lesion pixel."""
    row, col = min(max(int(round(y)), 0), distance.shape[0] - 1), min(max(int(round(x)), 0), distance.shape[1] - 1)
    return float(distance[row, col]) <= PEAK_TOLERANCE_PX


def _localisation(seen: list[_Seen]) -> dict[str, Any]:
    """Image AUC, peak on a lesion beside the picture's centre, and proposals without a lesion, over ``seen``."""
    truth = [int(one.lesion) for one in seen]
    lesions = [one for one in seen if one.lesion]
    clean = [one for one in seen if not one.lesion]
    peaks = [one.peak_hit for one in lesions if one.peak_hit is not None]
    both = 0 < sum(truth) < len(truth)
    return {"image_auc": round(float(roc_auc_score(truth, [one.score for one in seen])), 4) if both else None,
            "peak_on_lesion": round(sum(peaks) / max(len(lesions), 1), 4),
            "centre_on_lesion": round(sum(one.centre_hit for one in lesions) / max(len(lesions), 1), 4),
            "lesion_images": len(lesions),
            "proposals_without_lesion": round(sum(one.proposed for one in clean) / max(len(clean), 1), 4),
            "lesion_free_images": len(clean)}


def _model_figures(project: Project, held_out: dict[int, str], masks: dict[str, np.ndarray],
                   groups: dict[str, str]) -> dict[str, Any]:
    """Image AUC, peak on a lesion (beside the picture's centre), proposals without one, and the Dice of
    accepted proposals; the same by ``groups`` (each image's modality) where there is more than one."""
    seen: list[_Seen] = []
    dices, found_lesion, peaks, edge_peaks = [], 0, 0, 0
    for row in prediction_rows(engine=project.engine):
        name = held_out.get(row.image_id)
        if name is None:
            continue
        mask = masks[name]
        lesion = bool(mask.any())
        distance = ndimage.distance_transform_edt(~mask) if lesion else None
        peak_hit = None
        if row.heatmap_peak is not None:  # the cause seen on clinical pictures: peaks on the picture's edge
            peaks += 1
            x, y = row.heatmap_peak
            edge_peaks += min(x, y, mask.shape[1] - 1 - x, mask.shape[0] - 1 - y) <= EDGE_PX
            peak_hit = near_lesion(distance, x, y) if distance is not None else None
        centre_hit = distance is not None and near_lesion(distance, (mask.shape[1] - 1) / 2, (mask.shape[0] - 1) / 2)
        seen.append(_Seen(groups[name], lesion, row.probability, peak_hit, centre_hit, bool(row.proposals)))
        if lesion and row.proposals:
            drawn = np.zeros_like(mask)
            for proposal in with_outlines([row], project=project)[0].proposals:
                drawn |= rasterise(proposal["outline"], mask.shape)
            components, _ = ndimage.label(mask, structure=np.ones((3, 3)))
            hit = np.unique(components[drawn & mask])
            if hit.size and hit.max() > 0:
                dices.append(mask_dice(drawn, np.isin(components, hit[hit > 0])))
                found_lesion += 1
    lesions = sum(one.lesion for one in seen)
    figures = _localisation(seen) | {
        "proposal_recall": round(found_lesion / max(lesions, 1), 4),
        "proposal_dice": round(float(np.mean(dices)), 4) if dices else None, "proposals_on_lesions": len(dices),
        "peaks_at_edge": round(edge_peaks / max(peaks, 1), 4)}
    names = sorted({one.group for one in seen})
    if len(names) > 1:
        figures["by_modality"] = {name: _localisation([one for one in seen if one.group == name]) for name in names}
    return figures


def _outline_figures(project: Project, lesion_images: dict[str, Image], masks: dict[str, np.ndarray],
                     rng: np.random.Generator, groups: dict[str, str], trained: set[str]) -> dict[str, Any]:
    """The quick outline from rough boxes against filling the box and the inscribed ellipse (plain and shrunk),
    and from snug boxes against filling the box and the inscribed ellipse; the outline and the shrunk ellipse by
    ``groups`` too where there is more than one. Only on lesions the project did not learn from (not in
    ``trained``): the quick outline learns from the project's outlines. ``classic_outline_dice``: the classic
    outline, without what the project learnt, on the same boxes."""
    models = {image.modality: project_outline_model(project, image.modality) for image in lesion_images.values()}
    found, filled, inscribed, shrunk, times, group_of, classic = [], [], [], [], [], [], []
    snug: dict[str, list[float]] = {"snug_outline_dice": [], "snug_box_dice": [], "snug_ellipse_dice": [],
                                    "snug_classic_outline_dice": []}
    snug_rng = rng.spawn(1)[0]  # its own stream: the rough boxes stay those of earlier runs
    for name, image in lesion_images.items():
        mask = masks[name]
        picture = render_frame(image, project=project)
        grey = picture if picture.ndim == 2 else picture[..., :3].mean(axis=2)
        model = models[image.modality]
        components, count = ndimage.label(mask, structure=np.ones((3, 3)))
        for index, where in enumerate(ndimage.find_objects(components), start=1):
            lesion = components == index
            if lesion.sum() < 10:
                continue
            extent = (where[1].start, where[0].start, where[1].stop - where[1].start - 1,
                      where[0].stop - where[0].start - 1)
            box = rough_box(extent, rng)
            snug_one = snug_box(extent, snug_rng)  # drawn for every lesion: the streams stay those of earlier runs
            if name in trained:
                continue
            started = time.perf_counter()
            points = outline_in_box(grey, box, model=model)
            times.append(1000 * (time.perf_counter() - started))
            found.append(mask_dice(rasterise(points, mask.shape), lesion))
            classic.append(found[-1] if model is None else mask_dice(rasterise(outline_in_box(grey, box), mask.shape),
                                                                     lesion))
            filled.append(mask_dice(box_mask(box, mask.shape, ellipse=False), lesion))
            inscribed.append(mask_dice(box_mask(box, mask.shape, ellipse=True), lesion))
            shrunk.append(mask_dice(box_mask(box, mask.shape, ellipse=True, scale=SHRUNK_ELLIPSE), lesion))
            group_of.append(groups[name])
            snug["snug_outline_dice"].append(mask_dice(rasterise(outline_in_box(grey, snug_one, model=model),
                                                                 mask.shape), lesion))
            snug["snug_classic_outline_dice"].append(
                snug["snug_outline_dice"][-1] if model is None else
                mask_dice(rasterise(outline_in_box(grey, snug_one), mask.shape), lesion))
            snug["snug_box_dice"].append(mask_dice(box_mask(snug_one, mask.shape, ellipse=False), lesion))
            snug["snug_ellipse_dice"].append(mask_dice(box_mask(snug_one, mask.shape, ellipse=True), lesion))
    if not found:
        return {}
    figures: dict[str, Any] = {
        "outline_dice": round(float(np.mean(found)), 4), "box_dice": round(float(np.mean(filled)), 4),
        "ellipse_dice": round(float(np.mean(inscribed)), 4),
        "shrunk_ellipse_dice": round(float(np.mean(shrunk)), 4), "outline_ms": round(statistics.median(times), 2),
        "classic_outline_dice": round(float(np.mean(classic)), 4),
        "learned_outline": sorted(str(modality or "") for modality, model in models.items() if model is not None),
        "lesions_outlined": len(found)} | {key: round(float(np.mean(values)), 4) for key, values in snug.items()}
    names = sorted(set(group_of))
    if len(names) > 1:
        def mean_in(values: list[float], name: str) -> float:
            return round(float(np.mean([value for value, group in zip(values, group_of) if group == name])), 4)

        figures["outline_by_modality"] = {
            name: {"outline_dice": mean_in(found, name), "shrunk_ellipse_dice": mean_in(shrunk, name),
                   "snug_outline_dice": mean_in(snug["snug_outline_dice"], name),
                   "classic_outline_dice": mean_in(classic, name),
                   "snug_ellipse_dice": mean_in(snug["snug_ellipse_dice"], name),
                   "lesions_outlined": group_of.count(name)} for name in names}
    return figures


# What a reader is shown without --json: each figure beside the answer it must beat.
_LINES = (
    ("image ROC AUC, lesion against none", "image_auc", "", None),
    ("heatmap peak within 8 px of a lesion", "peak_on_lesion", "%", "the picture's centre: {centre_on_lesion}"),
    ("heatmap peak at the picture's edge", "peaks_at_edge", "%", None),
    ("lesion-free images with a proposal", "proposals_without_lesion", "%", None),
    ("lesion images with a proposal on it", "proposal_recall", "%", None),
    ("Dice of accepted proposals", "proposal_dice", "", None),
    ("quick outline, rough boxes: Dice", "outline_dice", "",
     "box {box_dice}, inscribed ellipse {ellipse_dice}, shrunk ellipse {shrunk_ellipse_dice}"),
    ("quick outline, snug boxes: Dice", "snug_outline_dice", "", "box {snug_box_dice}, inscribed ellipse "
                                                                  "{snug_ellipse_dice}"),
    ("classic outline (not learnt), rough boxes", "classic_outline_dice", "", None),
    ("classic outline (not learnt), snug boxes", "snug_classic_outline_dice", "", None),
    ("quick outline, ms", "outline_ms", "ms", None),
    ("training, s", "train_s", "s", None),
    ("  of it fitting the quick outline, s", "outline_fit_s", "s", None),
    ("scoring, ms per image", "score_ms_per_image", "ms", None),
)


def format_report(report: dict[str, Any]) -> str:
    """``bench_real``'s report as a few lines for a reader: where the truth came from, what was left out, and each
    figure's median (min–max over seeds) beside the trivial answer it must beat."""
    def shown(key: str, unit: str = "") -> str:
        figure = report.get(key)
        if not figure:
            return "—"
        scale, places, suffix = (100, 0, "%") if unit == "%" else (1, 2 if unit in ("", "ms") else 1, "")
        one = lambda value: f"{value * scale:.{places}f}{suffix}"  # noqa: E731
        spread = f" ({one(figure['min'])}–{one(figure['max'])})" if report["seeds"] > 1 else ""
        return one(figure["median"]) + spread

    lines = [f"{report['folder']}: {report['images']} images ({report.get('truth', 'truth')}"
             + (f", modality {report['modality']}" if report.get("modality") else "")
             + f"), {report['labels']} labels, " + (f"{report['seeds']} seeds; median (min–max) over seeds"
                                                     if report["seeds"] > 1 else "1 seed")]
    left_out = report.get("left_out") or []
    if left_out:
        lines.append(f"left out {len(left_out)} file(s), e.g. {left_out[0]}")
    lines.extend(f"warning: {warning}" for warning in report.get("warnings") or [])
    for label, key, unit, beside in _LINES:
        if key not in report:
            continue
        line = f"  {label:<40} {shown(key, unit)}"
        if beside:
            keys = re.findall(r"\{(\w+)\}", beside)
            line += "   [" + beside.format(**{name: shown(name, "%" if name == "centre_on_lesion" else "")
                                            for name in keys}) + "]"
        lines.append(line)
    for name, figures in sorted((report.get("by_modality") or {}).items()):
        parts = [f"{label} {figures[key] * 100:.0f}%" if percent else f"{label} {figures[key]:.2f}"
                 for label, key, percent in (
                     ("AUC", "image_auc", False), ("peak on a lesion", "peak_on_lesion", True),
                     ("centre on a lesion", "centre_on_lesion", True),
                     ("lesion-free with a proposal", "proposals_without_lesion", True),
                     ("outline", "outline_dice", False), ("classic outline", "classic_outline_dice", False),
                     ("snug outline", "snug_outline_dice", False))
                 if figures.get(key) is not None]
        lines.append(f"  {name} (medians): " + ", ".join(parts))
    return "\n".join(lines)
