from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring import services
from predictions.registry import NoActiveModel


class Command(BaseCommand):
    help = "Compare recent predictions of the active model with its training data (PSI) and store it."

    def add_arguments(self, parser: CommandParser) -> None:
        window = parser.add_mutually_exclusive_group()
        window.add_argument("--hours", type=float, help="Window length (default DRIFT_WINDOW_HOURS)")
        window.add_argument("--last", type=int, dest="last_n", help="The last N predictions instead")

    def handle(self, *args: Any, hours: float | None, last_n: int | None, **options: Any) -> None:
        try:
            report = services.drift_report_create(window_hours=hours, last_n=last_n)
        except NoActiveModel as error:
            raise CommandError(str(error)) from None
        except services.TooFewSamples as reason:
            self.stdout.write(self.style.WARNING(str(reason)))
            return
        self.stdout.write(
            f"drift of {report.model_version.name} v{report.model_version.version} over "
            f"{report.sample_size} predictions ({report.window_start:%Y-%m-%d %H:%M} to "
            f"{report.window_end:%Y-%m-%d %H:%M})"
        )
        rows = [("score", report.score_psi, report.score_state)] if report.score_psi is not None else []
        rows += [(row.feature, row.psi, row.state) for row in report.features.order_by("-psi")]
        width = max(len(name) for name, _, _ in rows)
        for name, psi, state in rows:
            line = f"  {name:<{width}}  {psi:7.4f}  {state}"
            style = {"alert": self.style.ERROR, "warning": self.style.WARNING}.get(state)
            self.stdout.write(style(line) if style else line)
        if report.not_compared:
            self.stdout.write(
                f"  not compared (the window is shorter than their cycle): {', '.join(report.not_compared)}"
            )
