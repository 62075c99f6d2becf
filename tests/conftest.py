"""Suite-wide test settings: Hypothesis profiles.

``ci`` (the default) is deterministic, so a red run can be reproduced by running it again;
``dev`` explores fresh random examples on each run: ``HYPOTHESIS_PROFILE=dev pytest``.
Fixtures live in conftest files next to the tests that use them (tests/sim/conftest.py, ...).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=200,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
