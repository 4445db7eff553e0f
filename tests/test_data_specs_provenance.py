"""Every shipped list has its source and licence note in its folder's README.md."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("folder", ["ltr/data_specs", "pytracking/evaluation/data_specs"])
def test_every_shipped_list_is_described_in_the_readme(folder):
    readme = (REPO / folder / "README.md").read_text()
    lists = sorted(p.name for p in (REPO / folder).iterdir() if p.suffix in (".txt", ".csv"))
    assert lists
    for name in lists:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{folder}/README.md does not describe {name}"
        assert "official" in row or "pytracking" in row, row      # where it comes from
    assert "## Licence" in readme
