"""The local settings file: defaults, resolution of relative paths, clear errors."""
import pytest

from ltr.admin.local_settings import SettingsError, create_default, load_settings


def test_defaults_written_once_and_resolved(tmp_path):
    file = tmp_path / "local_settings.toml"
    assert create_default(file) is True
    assert create_default(file) is False  # idempotent: never overwrites
    s = load_settings(file)
    assert s.workspace == tmp_path / "workspace"
    assert s.results == tmp_path / "results"
    assert s.device == "auto"
    assert s.torch_device() in ("cpu", "cuda")
    assert s.torch_device("cpu") == "cpu"


def test_unset_dataset_root_names_key_and_file(tmp_path):
    file = tmp_path / "local_settings.toml"
    create_default(file)
    s = load_settings(file)
    with pytest.raises(SettingsError) as err:
        s.dataset_root("lasot", setting="bbreg.atom_ebm_paper")
    msg = str(err.value)
    assert "lasot" in msg and str(file) in msg and "bbreg.atom_ebm_paper" in msg


def test_missing_dataset_folder_and_relative_path(tmp_path):
    file = tmp_path / "local_settings.toml"
    file.write_text('[datasets]\nuav = "data/uav"\ngot10k = "/nonexistent/got"\n')
    (tmp_path / "data" / "uav").mkdir(parents=True)
    s = load_settings(file)
    assert s.dataset_root("uav") == tmp_path / "data" / "uav"
    with pytest.raises(SettingsError, match="does not exist"):
        s.dataset_root("got10k")


def test_env_override_and_bad_toml(tmp_path, monkeypatch):
    file = tmp_path / "custom.toml"
    file.write_text('[paths]\nworkspace = "/tmp/ws"\n[device]\ndevice = "cpu"\n')
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(file))
    s = load_settings()
    assert s.file == file and str(s.workspace) == "/tmp/ws" and s.device == "cpu"
    file.write_text("[paths\nworkspace = 1")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings()
    file.write_text("[paths]\nworkspace = 3\n")
    with pytest.raises(SettingsError, match="workspace must be a string"):
        load_settings()
