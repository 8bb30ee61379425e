import os
import shutil

import pytest

# Tests exercise the algebra, never replayed output.
os.environ["DERIVE_NO_CACHE"] = "1"


def require_tool(name: str):
    """Skip when an external program is missing, unless CI demands it (DERIVE_REQUIRE_TEX=1)."""
    if shutil.which(name) is None:
        if os.environ.get("DERIVE_REQUIRE_TEX") == "1":
            pytest.fail(f"{name} is required (DERIVE_REQUIRE_TEX=1) but not installed")
        pytest.skip(f"{name} not installed")
