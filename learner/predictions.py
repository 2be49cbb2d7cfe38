"""What the active model says about each scored image, as a data scientist reads it (``medal predictions``):
probability, uncertainty, the strategy's utility and the queue rank it gave, the heatmap's peak and the
proposed regions, all in image pixels — each proposal with the outline Accept would draw (``with_outlines``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.labels import RegionInput, as_outlines, get_image, hottest_part, list_classes, proposals_for
from learner.registry import active_metrics, active_version
from storage import Image, ImageNotFound, ImageStatus, Prediction, Project


@dataclass
class PredictionRow:
    image_id: int
    probability: float
    uncertainty: float
    strategy: str | None
    strategy_utility: float  # the score the strategy gave (the image's queue priority)
    queue_rank: int | None  # 1 = next in the queue; None once labeled or skipped
    heatmap_peak: list[float] | None  # [x, y] in image pixels
    proposals: list[dict[str, Any]] = field(default_factory=list)  # {"bbox": [x, y, w, h], "score"} (+ "outline")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def prediction_rows(image_id: int | None = None, *, engine: Engine) -> list[PredictionRow]:
    """The active model's predictions (one image with ``image_id``), in queue order; [] before a model."""
    version = active_version(engine=engine)
    if version is None:
        return []
    with Session(engine) as session:
        statement = (select(Prediction, Image).join(Image, Prediction.image_id == Image.id)
                     .where(Prediction.model_version_id == version.id))
        if image_id is not None:
            statement = statement.where(Prediction.image_id == image_id)
        rows = session.exec(statement.order_by(col(Image.priority).desc(), Image.id)).all()
        unlabeled = session.exec(select(Image.id).where(Image.status == ImageStatus.UNLABELED)
                                 .order_by(col(Image.priority).desc(), Image.id)).all()
    if image_id is not None and not rows:
        raise ImageNotFound(f"The active model has not scored image {image_id}; "
                            "`medal predictions` lists those it has.")
    rank = {found: place for place, found in enumerate(unlabeled, start=1)}
    classes, metrics = list_classes(engine=engine), active_metrics(engine=engine)
    return [_row(prediction, image, rank.get(image.id), classes, metrics) for prediction, image in rows]


PEAK_TIE_MIN = 0.01  # heatmap cells within this much probability of the hottest are always as hot as it (and
# those within labeling.labels.proposals.HOTTEST_SHARE of the heat's range): a heatmap that varies by less is flat


def peak_cell(heat: np.ndarray) -> tuple[float, float]:
    """Where the heatmap peaks, as a (row, column) cell position: the middle of the hottest plateau (the cells
    about as hot as the hottest, connected to it). Not the first hottest cell: a plateau — a window's heat
    spread over the cells it covers, the stored half floats — then always gave its top-left cell, which put
    the peak of a flat or uncertain heatmap on the picture's top edge or corner. Differences under PEAK_TIE_MIN
    are no peak: a lesion-free picture's heatmap at 0.000–0.002 put its "peak" wherever the windows that
    overhang the picture's edge were a thousandth hotter."""
    return hottest_part(heat, least_tie=PEAK_TIE_MIN)


def _row(prediction: Prediction, image: Image, rank: int | None, classes: list[Any],
         metrics: dict[str, float]) -> PredictionRow:
    peak, proposals = None, []
    if prediction.heatmap_path:
        try:
            heat = np.load(prediction.heatmap_path).astype(np.float32)
        except OSError:  # the cache was deleted: no heatmap until the model scores again
            heat = None
        if heat is not None and heat.size:
            row, column = peak_cell(heat)
            scale_y, scale_x = image.rows / heat.shape[0], image.cols / heat.shape[1]
            peak = [round((column + 0.5) * scale_x, 1), round((row + 0.5) * scale_y, 1)]
            found = proposals_for(image, prediction, classes, metrics)
            for region in found.regions if found else []:
                x, y, w, h = region.bbox()
                rows_in = slice(int(y / scale_y), int(np.ceil((y + h) / scale_y)))
                cells = heat[rows_in, int(x / scale_x):int(np.ceil((x + w) / scale_x))]
                proposals.append({"bbox": [round(x, 1), round(y, 1), round(w, 1), round(h, 1)],
                                  "score": round(float(cells.max()) if cells.size else 0.0, 4)})
    return PredictionRow(image.id, round(float(prediction.probability), 4), round(float(prediction.uncertainty), 4),
                         prediction.strategy, round(float(image.priority), 6), rank, peak, proposals)


def with_outlines(rows: list[PredictionRow], *, project: Project) -> list[PredictionRow]:
    """``rows`` with each proposal's ``outline``: the polygon (``[[x, y], ...]`` in image pixels) that Accept on the
    Label page draws for it (``labeling.labels.as_outlines``: the quick outline in the proposal's box, grown, and
    refitted to what it found), or the box's corners where the picture gives no outline. The box says where the
    model looks; the outline is the region a reader who accepts gets, and what to score against a true mask."""
    for row in rows:
        if not row.proposals:
            continue
        image = get_image(row.image_id, engine=project.engine)
        boxes = [RegionInput("finding", "rect", [[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
                 for x, y, w, h in (proposal["bbox"] for proposal in row.proposals)]
        for proposal, outlined in zip(row.proposals, as_outlines(image, boxes, actor=None, project=project)):
            proposal["outline"] = [[round(float(x), 1), round(float(y), 1)] for x, y in outlined.points]
    return rows
