"""seqcnn.errors: the SeqcnnError family."""

from seqcnn.errors import InputError, SeqSetError


def test_seqset_error_is_an_input_error():
    assert issubclass(SeqSetError, InputError) and issubclass(SeqSetError, ValueError)
