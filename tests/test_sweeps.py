"""Sweeps: a grid of model options expands into named variants."""

import pytest

from seqcnn.workflow.sweeps import expand_model_list, expand_sweeps, variant_name

MODELS = {"cnn": {"arch": "koo_eddy", "pool_size": 4, "filters": 30}}


def test_grid_is_the_cartesian_product_in_written_order():
    models, variants = expand_sweeps(
        MODELS, {"pool": {"model": "cnn", "grid": {"pool_size": [1, 25], "activation": ["relu",
                                                                                       "exp"]}}})
    assert variants["pool"] == ["pool-pool_size1-activationrelu", "pool-pool_size1-activationexp",
                                "pool-pool_size25-activationrelu",
                                "pool-pool_size25-activationexp"]
    assert models["pool-pool_size25-activationexp"] == {
        "arch": "koo_eddy", "pool_size": 25, "filters": 30, "activation": "exp"}
    assert models["cnn"] == MODELS["cnn"]  # the base model stays, unchanged
    assert expand_model_list(["cnn", "pool", "cnn"], variants) == ["cnn", *variants["pool"]]


def test_names_fit_the_model_wildcard():
    assert variant_name("s", {"padding": "zeros+mask", "lr": 0.5, "bn": True}) == \
        "s-paddingzeros_mask-lr0.5-bntrue"


@pytest.mark.parametrize("sweeps, message", [
    ({"s": {"model": "nope", "grid": {"x": [1]}}}, "sweeps.s.model is 'nope'"),
    ({"cnn": {"model": "cnn", "grid": {"x": [1]}}}, "a model of the same name"),
    ({"s": {"model": "cnn", "grid": {"x": []}}}, "sweeps.s.grid.x is an empty list"),
])
def test_bad_sweeps_name_the_key(sweeps, message):
    with pytest.raises(ValueError, match=message):
        expand_sweeps(MODELS, sweeps)
