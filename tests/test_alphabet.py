import numpy as np
import pytest
import torch

from seqcnn.alphabet import (
    ALPHABETS,
    decode,
    one_hot,
    one_hot_batch,
    reverse_complement,
    reverse_complement_seq,
)


def test_dna_order_and_unknown_letters_are_zero():
    x = one_hot("ACGTNacgtRYK-")
    assert x.dtype == np.uint8 and x.shape == (4, 13)
    expected = np.zeros((4, 13), np.uint8)
    for i, j in enumerate([0, 1, 2, 3]):
        expected[j, i] = 1
        expected[j, i + 5] = 1
    np.testing.assert_array_equal(x, expected)


def test_rna_and_protein():
    assert ALPHABETS["rna"] == "ACGU"
    np.testing.assert_array_equal(one_hot("U", "rna")[:, 0], [0, 0, 0, 1])
    assert one_hot("T", "rna").sum() == 0  # T is not RNA
    assert ALPHABETS["protein"] == "ACDEFGHIKLMNPQRSTVWY"
    p = one_hot("MKWX", "protein")
    assert p.shape == (20, 4)
    assert p[:, 3].sum() == 0  # X is unknown
    assert decode(p, "protein", unknown="X") == "MKWX"


def test_unknown_alphabet_is_an_error():
    with pytest.raises(ValueError, match="unknown alphabet 'aa'"):
        one_hot("ACGT", "aa")


def test_batch_pads_and_refuses_to_crop():
    x = one_hot_batch(["ACG", "T"], length=4)
    assert x.shape == (2, 4, 4)
    assert x[1, :, 1:].sum() == 0
    with pytest.raises(ValueError, match="length 3 > length=2"):
        one_hot_batch(["ACG"], length=2)


def test_reverse_complement_numpy_torch_and_string():
    seq = "AACGTTNG"
    rc = reverse_complement_seq(seq)
    assert rc == "CNAACGTT"
    np.testing.assert_array_equal(reverse_complement(one_hot(seq)), one_hot(rc))
    t = torch.from_numpy(one_hot(seq)[None])
    np.testing.assert_array_equal(reverse_complement(t)[0].numpy(), one_hot(rc))
    assert reverse_complement_seq("ACGU", "rna") == "ACGU"
    with pytest.raises(ValueError, match="dna and rna"):
        reverse_complement(one_hot("MK", "protein"), "protein")
