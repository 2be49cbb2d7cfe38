"""Issue 21: each class says what readers mark with it; editors write it in Settings, the Label page shows it
beside the class (the viewer's toolbar) and in the shortcut list."""

from __future__ import annotations

import pytest

from labeling.labels import list_classes, save_class
from labeling.labels.taxonomy import TaxonomyError
from tests.support.pages import button, label_state, logged_in, viewer_data


def test_an_editor_describes_a_class_and_the_label_page_shows_it(project, make_demo) -> None:
    make_demo(0)
    healthy = next(c for c in list_classes(engine=project.engine) if c.name == "Healthy")
    save_class("Healthy", healthy.color, healthy.key, class_id=healthy.id,
               description="  A normal   vessel or node,\n never a finding. ", engine=project.engine)
    assert next(c for c in list_classes(engine=project.engine) if c.name == "Healthy").description == \
        "A normal vessel or node, never a finding."
    with pytest.raises(TaxonomyError, match="at most 500 characters"):
        save_class("Healthy", healthy.color, healthy.key, class_id=healthy.id, description="x" * 501,
                   engine=project.engine)
    at = logged_in(project=project)
    assert label_state(at).image_id is not None
    described = {c["name"]: c["description"] for c in viewer_data(at)["classes"]}
    assert described["Healthy"] == "A normal vessel or node, never a finding."
    assert "outline the lesion" in described["Cancerous"]


def test_settings_edits_a_class_description(project) -> None:
    at = logged_in("sci", "scientist", project=project)
    at.switch_page("labeling/ui/pages/settings.py").run()
    next(s for s in at.selectbox if s.label == "Edit class").set_value("Cancerous").run()
    next(t for t in at.text_area if t.label.startswith("Description")).set_value("Any malignant lesion.")
    button(at, "Save class").click().run()
    assert not at.exception, at.exception
    cancerous = next(c for c in list_classes(engine=project.engine) if c.name == "Cancerous")
    assert cancerous.description == "Any malignant lesion."
