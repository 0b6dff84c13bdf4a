from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"
    verbose_name = "Predictions and models"

    def ready(self) -> None:
        # Imported here so every process (web, Celery worker) creates the counters once, at start.
        from audit.sources import chain_source_register
        from predictions import metrics  # noqa: F401
        from predictions.evidence import PREDICTION_SOURCE
        from predictions.registry import active_model_readiness
        from predictions.scoring import ArtifactError
        from reviewapp import errors
        from reviewapp.readiness import readiness_check_add

        readiness_check_add(name="model", probe=active_model_readiness)
        chain_source_register(PREDICTION_SOURCE)  # a prediction is its own `created` evidence
        # A broken artifact means nothing can be scored for now: 503. The pure scoring core
        # imports nothing of the project, so its error is given its kind here.
        errors.kind_assign(ArtifactError, kind=errors.Unavailable)
