"""`manage.py model_card VERSION`: the registry's record of a model version as Markdown."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from predictions import training

SECTIONS = ["## Intended use", "## Data", "## Features", "## Metrics on the holdout", "## Threshold",
            "## Limitations", "## Library versions"]  # fmt: skip


def card(*args, **options) -> str:
    out = StringIO()
    call_command("model_card", *args, stdout=out, **options)
    return out.getvalue()


def test_it_renders_every_section_from_the_registry(active_model):
    text = card(str(active_model.version))

    assert text.startswith(f"# Model card: card-fraud v{active_model.version}\n")
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert f"sha256 `{active_model.sha256}`" in text
    assert "- Status: **Active**" in text
    assert "- Source: test" in text


def test_it_lists_every_feature_with_its_allowed_values(active_model):
    text = card(str(active_model.version))

    for spec in training.DEMO_SCHEMA:
        assert f"| `{spec['name']}` | {spec['type']} |" in text
    assert "| `amount` | float | 0.01 to 50000 | USD | Transaction amount |" in text
    assert "| `channel` | category | pos, web, mobile_app, phone |" in text


def test_it_states_the_holdout_metrics_and_the_review_threshold(active_model):
    text = card(str(active_model.version))

    assert f"| ROC AUC | {active_model.metrics['roc_auc']} |" in text
    assert f"| PR AUC (average precision) | {active_model.metrics['pr_auc']} |" in text
    assert f"is below **{active_model.review_threshold}** goes to the review queue" in text
    assert f"| scikit-learn | {active_model.library_versions['scikit-learn']} |" in text


def test_it_writes_to_a_file_when_asked(active_model, tmp_path):
    path = tmp_path / "docs" / "model-card-v1.md"

    message = card("1", output=path)

    assert f"wrote the model card of v1 to {path}" in message
    assert path.read_text(encoding="utf-8") == card("1")


def test_an_unknown_version_is_an_error(db):
    with pytest.raises(CommandError, match="no model version 7"):
        card("7")
