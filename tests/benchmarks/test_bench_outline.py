"""``medal bench outline``: the quick outline on the demo's lesions and on speckled dark lesions, from rough boxes
and from snug ones (the external review's protocol)."""

from __future__ import annotations

from benchmarks.outline import bench_outline


def test_bench_outline_reports_rough_and_snug_boxes() -> None:
    report = bench_outline()
    assert report["regions"] > 100 and report["speckle_pictures"] == 50
    assert report["dice_mean"] >= 0.95 and report["snug_dice_mean"] >= 0.95
    # snug boxes make the inscribed ellipse a stronger answer; the outline still clears it by the goal's 0.05
    assert report["snug_speckle_ellipse_dice_mean"] > report["speckle_ellipse_dice_mean"] + 0.1
    assert report["snug_speckle_dice_mean"] >= 0.85
    assert report["snug_speckle_dice_mean"] >= report["snug_speckle_ellipse_dice_mean"] + 0.05
    assert {"latency_ms_box60", "latency_ms_box200"} <= set(report)  # times are the benchmark's to judge
