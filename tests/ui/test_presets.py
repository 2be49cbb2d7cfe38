"""Issue 21: the viewer offered "LUNG" from the file and "Lung" of the standard CT windows side by side. A
standard window the file has already is offered once; one the file names alike with other values is told
apart."""

from __future__ import annotations

from labeling.ui.viewer import standard_presets


def names(modality: str, windows: list[dict]) -> list[str]:
    return [p["name"] for p in standard_presets(modality, windows)]


def test_a_standard_window_the_file_has_is_offered_once() -> None:
    assert names("CT", []) == ["Lung", "Mediastinum", "Bone", "Brain"]
    assert names("CT", [{"name": "LUNG", "center": -600, "width": 1500}]) == ["Mediastinum", "Bone", "Brain"]


def test_a_file_window_named_alike_with_other_values_keeps_both_told_apart() -> None:
    file_windows = [{"name": "Lung", "center": -500, "width": 1400}, {"name": "", "center": 40, "width": 400}]
    assert names("CT", file_windows) == ["Lung (standard)", "Mediastinum", "Bone", "Brain"]
    assert names("MR", file_windows) == []
