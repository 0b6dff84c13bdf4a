from typing import Any

from django import template

from predictions.charts import waterfall
from predictions.models import Prediction

register = template.Library()


@register.inclusion_tag("predictions/partials/explanation_chart.html")
def explanation_chart(prediction: Prediction) -> dict[str, Any]:
    """The SHAP waterfall of a prediction; used on the analyst and audit pages alike."""
    explanation = prediction.explanation
    return {
        "chart": waterfall(
            schema=prediction.model_version.feature_schema,
            features=prediction.features,
            base_value=explanation.base_value,
            values=explanation.values,
        ),
        "explanation": explanation,
    }


@register.filter
def feature_rows(prediction: Prediction) -> list[dict[str, Any]]:
    """The transaction's features with readable names and units, in schema order."""
    return [
        {**spec, "value": prediction.features.get(spec["name"])}
        for spec in prediction.model_version.feature_schema
    ]
