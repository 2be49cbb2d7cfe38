"""Exports follow the reading plan: each image's consensus where a reviewer made one (else every reading), the
consensus only, or every reading; and the dataset card carries how the readers agree."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from labeling.access import add_user
from labeling.cli.main import main
from labeling.export import ExportError, ExportOptions, export_dataset
from labeling.labels import RegionInput, accept_reading, save_annotation


def square(x: float, y: float) -> RegionInput:
    return RegionInput("Cancerous", "rect", [[x, y], [x + 20, y], [x + 20, y + 20], [x, y + 20]])


@pytest.fixture
def adjudicated(project, make_demo):
    """Images 1-3 read by ann and bob; they disagree on 1 (a finding only bob saw), which rita adjudicates."""
    make_demo(0)
    for name, role in (("ann", "annotator"), ("bob", "annotator"), ("rita", "reviewer")):
        add_user(name, f"{name}-password", role, engine=project.engine)
    for image_id in (1, 2, 3):
        save_annotation(image_id, "ann", [], image_label="healthy" if image_id == 1 else "cancerous",
                        engine=project.engine)
        save_annotation(image_id, "bob", [square(10, 10)], image_label="cancerous", engine=project.engine)
    accept_reading(1, "bob", engine=project.engine, actor="rita", reason="the nodule is there")
    return project


def annotators_per_image(out: Path) -> dict[int, list[str]]:
    """The annotators of each exported image's rows in labels.csv, images in the order of their lists."""
    with (out / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["image_file"], []).append(row["annotator"])
    return {n: sorted(names) for n, names in enumerate(sorted(sorted(names) for names in found.values()))}


@pytest.mark.parametrize(("readings", "expected"), [
    ("each", [["ann", "bob"], ["ann", "bob"], ["consensus"]]),
    ("consensus", [["consensus"]]),
    ("all", [["ann", "bob"], ["ann", "bob"], ["ann", "bob", "consensus"]]),
])
def test_the_export_holds_the_readings_asked_for(adjudicated, tmp_path: Path, readings, expected) -> None:
    out = tmp_path / readings
    report = export_dataset(out, ExportOptions(["csv"], deidentify=True, readings=readings), project=adjudicated)
    assert annotators_per_image(out) == dict(enumerate(expected))
    card = report.card
    assert card["filters"]["readings"] == readings
    pair = card["agreement"]["pairs"][0]
    assert pair["readers"] == ["ann", "bob"] and pair["images"] == 3
    assert pair["findings"] == {"both": 2, "only_first": 0, "only_second": 1, "neither": 0}
    consensus = {entry["reader"]: entry for entry in card["agreement"]["against_consensus"]}
    assert consensus["bob"]["sensitivity"]["value"] == 1.0 and consensus["ann"]["sensitivity"]["value"] == 0.0


def test_pseudonymised_exports_name_no_reader_in_the_agreement(adjudicated, tmp_path: Path) -> None:
    report = export_dataset(tmp_path / "p", ExportOptions(["csv"], deidentify=True, pseudonymise_annotators=True),
                            project=adjudicated)
    text = json.dumps(report.card["agreement"])
    assert '"ann"' not in text and '"bob"' not in text
    assert [name.startswith("annotator-") for name in report.card["agreement"]["readers"]] == [True, True]


def test_unknown_readings_are_refused_and_the_cli_takes_the_option(adjudicated, tmp_path: Path, capsys) -> None:
    with pytest.raises(ExportError, match="Unknown readings"):
        ExportOptions(["csv"], readings="majority")
    assert main(["export", "--format", "csv", "--deidentify", "--readings", "consensus", "--out",
                 str(tmp_path / "cli")]) == 0
    assert json.loads((tmp_path / "cli" / "dataset_card.json").read_text())["filters"]["readings"] == "consensus"
