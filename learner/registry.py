"""Model versions: checkpoints on disk, their rows in ``model_version``, which one is active — and the
read side (the active version, its metrics, its prediction for an image): the only module that asks
which version is active.

A checkpoint is written to a temporary name and renamed, and its sha256 is kept with the version, so a
half-written, truncated or swapped file is refused when loaded instead of producing nonsense. Only a
version whose run finished is activated; activating an older one is the rollback.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from labeling.access import rights
from labeling.labels import MIN_OUTLINES, OutlineModel, outline_file, save_outline_models
from storage import AuditEvent, Image, ImageStatus, MedalError, ModelVersion, Prediction, Project, write_session

if TYPE_CHECKING:  # torch costs seconds to import: the pages that read predictions never need it
    from learner.model import CompactCNN
    from learner.train import TrainConfig, TrainResult


class CheckpointError(MedalError):
    """A model version whose checkpoint file is missing, damaged or not a Medal checkpoint."""


class VersionNotFound(MedalError):
    """A model version id that does not exist."""


@dataclass
class LoadedModel:
    version_id: int
    model: CompactCNN
    config: TrainConfig
    data: dict[str, Any]  # how the training set was built (e.g. the heatmap window's patch_fraction)


def models_dir(*, project: Project) -> Path:
    """Where the project's checkpoints live (created on first use)."""
    return project.folder("models")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def register(result: TrainResult, data: dict[str, Any], label_count: int, *, project: Project,
             job_id: int | None = None, outline_models: dict[str, OutlineModel] | None = None) -> ModelVersion:
    """Save the checkpoint in ``project``'s models folder, with the learned quick outline (``outline_models``, by
    modality) beside it, and add an inactive version row with its config, metrics and label count."""
    import torch

    folder = models_dir(project=project)
    checkpoint = result.checkpoint()
    buffer = io.BytesIO()
    torch.save({**checkpoint, "data": data}, buffer)
    name = hashlib.sha256(buffer.getvalue()).hexdigest()
    path = folder / f"{name[:16]}.pt"
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(buffer.getvalue())
    os.replace(temporary, path)
    if outline_models:
        save_outline_models(outline_models, outline_file(path))
    version = ModelVersion(job_id=job_id, config={**checkpoint["config"], "sha256": name,
                                                   "epochs": result.epochs, "data": data},
                           label_count=label_count, metrics=result.metrics, checkpoint_path=str(path))
    with write_session(engine=project.engine) as session:
        session.add(version)
        session.commit()
        session.refresh(version)
    return version


def load(version: ModelVersion) -> LoadedModel:
    """The version's network, in eval mode on the training device; CheckpointError when unusable."""
    import torch

    from learner.train import DEVICE, TrainConfig, build_model, to_device

    path = Path(version.checkpoint_path)
    if not path.is_file():
        raise CheckpointError(f"Model version {version.id}'s checkpoint {path} is missing; "
                              "activate another version or train a new one.")
    expected = version.config.get("sha256")
    if expected and _sha256(path) != expected:
        raise CheckpointError(f"Model version {version.id}'s checkpoint {path} is damaged (its checksum "
                              "changed); activate another version or train a new one.")
    try:
        checkpoint = torch.load(path, map_location=DEVICE, weights_only=True)
        config = TrainConfig(**checkpoint["config"])
        model = build_model(config)
        model.load_state_dict(checkpoint["state_dict"])
        model.temperature, model.bias = float(config.temperature), float(config.bias)
    except (OSError, EOFError, RuntimeError, KeyError, TypeError, ValueError, pickle.UnpicklingError,
            zipfile.BadZipFile) as error:
        raise CheckpointError(f"Model version {version.id}'s checkpoint {path} cannot be read ({error}); "
                              "activate another version or train a new one.") from error
    to_device(model).eval()
    return LoadedModel(version.id, model, config, dict(checkpoint.get("data", {})))


def get_version(version_id: int, *, engine: Engine) -> ModelVersion:
    with Session(engine) as session:
        version = session.get(ModelVersion, version_id)
    if version is None:
        raise VersionNotFound(f"There is no model version {version_id}; `medal models` lists them.")
    return version


def active_version(*, engine: Engine) -> ModelVersion | None:
    with Session(engine) as session:
        return session.exec(select(ModelVersion).where(ModelVersion.active)).first()


def prediction_for(image_id: int, *, engine: Engine) -> Prediction | None:
    """The active model's prediction for an image (None before a model exists or scores it). A heatmap
    whose file is gone (the cache may be deleted at any time) is left out until the model scores again."""
    with Session(engine) as session:
        prediction = session.exec(select(Prediction).join(ModelVersion, Prediction.model_version_id == ModelVersion.id)
                                  .where(Prediction.image_id == image_id, ModelVersion.active)).first()
        if prediction is not None:
            session.expunge(prediction)
    if prediction is not None and prediction.heatmap_path and not Path(prediction.heatmap_path).is_file():
        prediction.heatmap_path = None
    return prediction


def active_metrics(*, engine: Engine) -> dict[str, float]:
    """The active model version's validation metrics (empty before there is one)."""
    version = active_version(engine=engine)
    return dict(version.metrics or {}) if version is not None else {}


def active_summary(*, engine: Engine) -> dict[str, Any] | None:
    """The active version as an export's dataset card records it (None before there is one)."""
    version = active_version(engine=engine)
    if version is None:
        return None
    return {"id": version.id, "created_at": version.created_at.isoformat(), "label_count": version.label_count,
            "metrics": dict(version.metrics or {})}


def labeled_count(engine: Engine) -> int:
    """How many of the project's images are labeled (a version records it; auto-retrain compares it)."""
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Image).where(
            Image.status == ImageStatus.LABELED)).one())


def last_label_count(*, engine: Engine) -> int:
    """How many labeled images the most-informed version was trained on (0 before any version)."""
    with Session(engine) as session:
        return int(session.exec(select(func.max(ModelVersion.label_count))).one() or 0)


def list_versions(*, engine: Engine) -> list[ModelVersion]:
    with Session(engine) as session:
        return list(session.exec(select(ModelVersion).order_by(ModelVersion.id)).all())


def mark_active(session: Session, version_id: int, actor: str | None, detail: dict[str, Any]) -> None:
    """Within the caller's transaction: ``version_id`` becomes the only active version, audited."""
    session.execute(update(ModelVersion).where(ModelVersion.id != version_id).values(active=False))
    session.execute(update(ModelVersion).where(ModelVersion.id == version_id).values(active=True))
    session.add(AuditEvent(username=actor, action="model.activate", entity="model_version", entity_id=version_id,
                           detail=detail))


def activate(version_id: int, *, engine: Engine, actor: str | None = None) -> ModelVersion:
    """Make ``version_id`` the one model in charge (after checking its checkpoint loads); audited."""
    version = get_version(version_id, engine=engine)
    load(version)
    with write_session(engine=engine) as session:
        rights.check(session, actor, rights.TRAIN)
        mark_active(session, version_id, actor, {"label_count": version.label_count})
        session.commit()
    return get_version(version_id, engine=engine)


def load_active(*, engine: Engine) -> LoadedModel | None:
    """The active model, or None before there is one. A broken active checkpoint is deactivated (the
    project falls back to no model, and the queue to its last priorities) and reported."""
    version = active_version(engine=engine)
    if version is None:
        return None
    try:
        return load(version)
    except CheckpointError:
        with write_session(engine=engine) as session:
            session.execute(update(ModelVersion).where(ModelVersion.id == version.id).values(active=False))
            session.add(AuditEvent(action="model.deactivate", entity="model_version", entity_id=version.id,
                                   detail={"reason": "checkpoint unusable"}))
            session.commit()
        raise


def version_json(version: ModelVersion) -> dict[str, Any]:
    """A version as ``medal models --json`` prints it; ``quick_outline``: by modality, the learnt quick outline's
    and the classic one's Dice on held-out outlines and which one the version uses (None: none learnt)."""
    return {"id": version.id, "created_at": version.created_at.isoformat(), "labels": version.label_count,
            "metrics": version.metrics, "active": version.active, "job_id": version.job_id,
            "checkpoint": version.checkpoint_path,
            "quick_outline": (version.config or {}).get("data", {}).get("outline_model")}


def diagnostics(version_id: int, *, engine: Engine) -> dict[str, Any]:
    """What the Train page plots for a version: its loss per epoch (``curves``: train_loss, val_loss) and
    its validation reliability diagram (``reliability``: calibrated and uncalibrated bins) and its validation
    ``metrics`` (which calibration it kept). Versions
    trained before these were recorded give empty ones."""
    version = get_version(version_id, engine=engine)
    data = (version.config or {}).get("data", {})
    return {"curves": dict(data.get("curves") or {}), "reliability": dict(data.get("reliability") or {}),
            "metrics": dict(version.metrics or {})}


def history(*, engine: Engine) -> list[dict[str, Any]]:
    """One flat row per version, oldest first: what the Train page's table and AUC plot show."""
    rows = []
    for version in list_versions(engine=engine):
        metrics = version.metrics or {}
        rows.append({"version": version.id, "active": version.active,
                     "created": version.created_at.strftime("%Y-%m-%d %H:%M"), "labels": version.label_count,
                     **{name: round(float(metrics[name]), 3) if name in metrics else None
                        for name in ("auc", "image_auc", "sensitivity", "specificity", "ece", "ece_uncalibrated",
                                     "threshold")},
                     "validation images": int(metrics.get("n", 0)),
                     "quick outline": _outline_summary((version.config or {}).get("data", {}))})
    return rows


def _outline_summary(data: dict[str, Any]) -> str:
    """Which quick outline a version's training chose, by modality, with the learnt and the classic outline's Dice
    on held-out outlines (``labeling.labels.learned_outline``)."""
    if "outline_model" not in data:
        return "—"  # a version from before the quick outline was learnt
    if not data["outline_model"]:
        return f"classic (fewer than {MIN_OUTLINES} outlines of any modality to learn from)"
    summary = "; ".join(f"{modality or 'no modality'}: {'learnt' if found['used'] else 'classic'} (Dice "
                        f"{found['learned_dice']:.2f} learnt, {found['classic_dice']:.2f} classic, "
                        f"{found['held_out']} held-out outlines)" for modality, found in data["outline_model"].items())
    return f"{summary}; fitted in {data['outline_s']:.1f} s" if "outline_s" in data else summary
