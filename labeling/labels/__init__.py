"""Labels and what surrounds them: catalog queries, pictures, the queue, annotations, taxonomy, accounts, proposals."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "agreement": ("AgreementReport", "Estimate", "agreement_report"),
    "annotations": ("RegionInput", "SHAPES", "SavedAnnotation", "add_annotation", "current_annotations",
                    "list_annotations", "save_annotation", "save_reading", "undo_last_save", "user_named"),
    "catalog": ("ORDERS", "TimelineStudy", "get_image", "list_images", "patient_keys", "patient_timeline"),
    "identity": ("identity", "annotator_choices", "image_caption", "image_row", "study_name", "timeline_rows"),
    "learned_outline": ("MIN_OUTLINES", "OutlineModel", "fit_outline_model", "fit_project_outline", "outline_file",
                        "outline_record", "project_outline_model", "quick_outline_note", "save_outline_models"),
    "outline": ("OutlineError", "outline_in_box"),
    "pictures": ("heatmap_png", "render_frame", "render_image", "thumbnail_png", "write_png"),
    "proposals": ("MIN_THRESHOLD", "SURE", "as_outlines", "hottest_part", "images_with_proposals", "proposal_threshold",
                  "proposals_for"),
    "queue": ("SKIP_REASONS", "lease", "next_image", "peek", "refresh_cold_start", "release", "set_priorities", "skip",
              "write_priorities"),
    "region_masks": ("mask_dice", "region_mask"),
    "reading_plan": ("DISAGREEING", "InvalidPlan", "ReadingPlan", "blinded_for", "current_plan", "set_reading_plan"),
    "review": ("ConsensusStart", "ReviewRules", "accept_reading", "adjudicate", "consensus_start", "merge_readings",
               "reader_colours", "readings_of", "readings_png", "region_rows", "review_item", "review_queue"),
    "reading": ("corners", "for_browser", "modality_values", "outline_region", "prior_for", "series_slices", "voi_lut"),
    "spread": ("cold_start", "simple_features", "standardise"),
    "taxonomy": ("IMAGE_LABELS", "NORMAL_CODE", "list_classes", "save_class"),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
