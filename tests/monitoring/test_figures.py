"""Shares and counts read the same on the monitoring and quality pages (one home for both)."""

import pytest
from django.template import Context, Template

FIGURES = {"share": 0.0712, "none": None, "whole": 12345, "estimate": 12344.6}


@pytest.mark.parametrize(
    ("library", "share", "count"), [("monitoring", "percent", "number"), ("quality", "share", "count")]
)
def test_both_pages_write_shares_and_counts_alike(library, share, count):
    template = Template(
        f"{{% load {library} %}}{{{{ share|{share} }}}} {{{{ share|{share}:2 }}}} {{{{ none|{share} }}}} "
        f"{{{{ whole|{count} }}}} {{{{ estimate|{count} }}}} {{{{ none|{count} }}}}"
    )

    assert template.render(Context(FIGURES)) == "7.1% 7.12% \u2013 12,345 12,345 \u2013"
