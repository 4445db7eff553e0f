"""Under CI (``CI=true``) a missing system tool that install.sh provides is a failure, not a skip."""
import pytest
from conftest import skip_or_fail_in_ci


def test_a_missing_tool_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Xvfb missing"):
        skip_or_fail_in_ci("Xvfb missing")


def test_a_missing_tool_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Xvfb missing -- under CI"):
        skip_or_fail_in_ci("Xvfb missing")
