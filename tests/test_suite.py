"""Suite files: the shipped suites parse, bad ones are refused by key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dimred.benchmark import SuiteError, load_suite
from tests._suites import TINY, write_suite

SUITES = Path(__file__).parents[1] / "benchmarks" / "suites"


def test_shipped_suites_parse_into_the_promised_grids():
    quick = load_suite(SUITES / "quick.toml")
    assert set(quick.datasets) == {"digits", "mnist", "swiss_roll"}
    assert set(quick.methods) == {"POD", "PCA", "AE", "VAE"}
    assert quick.latent_sizes == [2, 8, 32] and quick.seeds == [0]
    full = load_suite(SUITES / "full.toml")
    assert {spec["source"] for spec in full.datasets.values()} >= {
        "mnist", "fashion_mnist", "burgers"
    }
    assert full.latent_sizes == [2, 5, 10, 20, 30, 50] and len(full.seeds) == 3
    mnist = load_suite(SUITES / "mnist.toml")
    assert mnist.tuning["sampler"] == "grid" and mnist.methods["AE"]["search"]
    assert mnist.methods["POD"]["search"] is None  # fitted once, not tuned


@pytest.mark.parametrize("path", sorted(SUITES.glob("*.toml")), ids=lambda path: path.name)
def test_every_shipped_suite_parses(path):
    assert load_suite(path).methods


def test_cells_clip_latent_sizes_to_the_width_and_name_runs(tmp_path):
    suite = load_suite(write_suite(tmp_path, TINY.replace("[2]", "[2, 8, 64, 100]")))
    cells = suite.cells({"digits": 64})
    assert sorted({cell.n_components for cell in cells}) == [2, 8, 64]
    assert len(cells) == 3 * 4
    assert cells[0].run_name == "digits/POD/k=2/seed=0"


def test_config_hash_is_stable_and_sees_every_setting(tmp_path):
    cells = load_suite(write_suite(tmp_path)).cells({"digits": 64})
    again = load_suite(write_suite(tmp_path)).cells({"digits": 64})
    assert [c.config_hash for c in cells] == [c.config_hash for c in again]
    assert len({c.config_hash for c in cells}) == len(cells)
    changed = load_suite(write_suite(tmp_path, TINY.replace("max_epochs = 3", "max_epochs = 4")))
    changed_hashes = {c.run_name: c.config_hash for c in changed.cells({"digits": 64})}
    for cell in cells:
        moved = changed_hashes[cell.run_name] != cell.config_hash
        assert moved == (cell.method in ("AE", "VAE"))
    # verbose changes the display only, so it leaves the hash alone.
    verbose = TINY.replace("max_epochs = 3", "max_epochs = 3\nverbose = true")
    quiet = load_suite(write_suite(tmp_path, verbose))
    assert [c.config_hash for c in quiet.cells({"digits": 64})] == [c.config_hash for c in cells]


@pytest.mark.parametrize(
    ("edit", "line", "fragment"),
    [
        (("max_epochs = 3", "max_epoch = 3"), 18, "methods.AE.max_epoch is not a parameter"),
        (("max_epochs = 3", "max_epochs = -3"), 18, "max_epochs"),
        (("[methods.POD]", "[methods.POD]\nestimator = \"ICA\""), 13, "unknown estimator 'ICA'"),
        (("n_train = 300", "n_trian = 300"), 9, "datasets.digits.n_trian is not an option"),
        (("[datasets.digits]", "[datasets.digits]\nsource = \"cifar\""), 9, "unknown dataset"),
        (("latent_sizes = [2]", "latent_sizes = [0]"), 4, "positive"),
        (("seeds = [0]", "seeds = \"0\""), 5, "seeds must be a non-empty list of ints"),
        (("[methods.AE]", "[methods.AE]\nn_components = 3"), 17, "latent_sizes and seeds"),
        (("[suite]", "[suite]\nlatent_size = [2]"), 3, "unknown key suite.latent_size"),
    ],
)
def test_bad_suites_name_the_key_and_line(tmp_path, edit, line, fragment):
    path = write_suite(tmp_path, TINY.replace(*edit, 1))
    with pytest.raises(SuiteError, match=fragment) as info:
        load_suite(path)
    assert f"{path}:{line}:" in str(info.value)


def test_toml_syntax_errors_keep_tomls_position(tmp_path):
    path = write_suite(tmp_path, TINY.replace("n_test = 100", "n_test = = 100"))
    with pytest.raises(SuiteError, match=r"invalid TOML: .*line 10"):
        load_suite(path)
