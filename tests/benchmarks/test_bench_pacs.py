"""`medal bench dicomweb` and `medal bench stow` with tiny counts against a throw-away Orthanc, through the CLI:
counts only (never times); skipped where Orthanc with its DICOMweb plug-in is not installed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from benchmarks.pacs import PLUGIN, OrthancMissing, running_orthanc
from labeling.cli.main import main

pytestmark = pytest.mark.skipif(not shutil.which("Orthanc") or not PLUGIN.exists(),
                                reason="Orthanc with its DICOMweb plug-in is not installed (orthanc orthanc-dicomweb)")


def test_bench_dicomweb_imports_every_instance_and_a_second_run_fetches_nothing(tmp_path: Path, capsys) -> None:
    before = dict(os.environ)
    assert main(["bench", "dicomweb", "--instances", "20", "--json", "--out", str(tmp_path / "figures.json")]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["retrieved"], figures["images"], figures["refused"]) == (20, 20, 0)
    assert (figures["second_run_retrieved"], figures["second_run_already_held"]) == (0, 20)
    assert figures["orthanc"] and {"peak_rss_mb_before", "peak_rss_mb_after"} <= figures.keys()  # (never a size)
    assert json.loads((tmp_path / "figures.json").read_text()) == figures
    assert dict(os.environ) == before  # the credentials were set for the run only


def test_bench_stow_stores_one_seg_per_labeled_image(capsys) -> None:
    assert main(["bench", "stow", "--segs", "5", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["labeled"], figures["stored"], figures["refused"], figures["not_sent"]) == (5, 5, 0, 0)
    assert (figures["pacs_added"], figures["second_send_stored"], figures["second_send_pacs_added"]) == (5, 5, 0)


def test_a_missing_orthanc_is_a_sentence_not_a_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OrthancMissing, match="orthanc orthanc-dicomweb"):
        with running_orthanc():
            pass
