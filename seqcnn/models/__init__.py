"""Sequence CNNs: building blocks, receptive fields and a model zoo.

>>> from seqcnn.models import build_model
>>> model = build_model({"arch": "dilated", "layers": 4}, alphabet_size=4, n_tasks=2, seq_len=500)
>>> model.receptive_field
49
"""

from seqcnn.models.ensemble import Ensemble, load_ensemble
from seqcnn.models.heads import POOLS, PoolingHead, mlp
from seqcnn.models.layers import (
    ACTIVATIONS,
    ConvBlock,
    ExpActivation,
    FixedFilterConv1d,
    MaskedBiLSTM,
    MaskedMaxPool1d,
    Pointwise,
    PWMConv1d,
    activation,
    masked_global_avg,
    masked_global_max,
    masked_max_pool1d,
    pwm_entropy,
)
from seqcnn.models.profile import (
    BinnedModel,
    ProfileModel,
    ReverseComplementAverage,
    build_track_model,
    flip_tracks,
)
from seqcnn.models.receptive_field import (
    gradient_footprint,
    model_receptive_field,
    receptive_field,
    total_stride,
)
from seqcnn.models.zoo import (
    ARCHS,
    Basset,
    DanQ,
    DeepBind,
    DilatedCNN,
    KooEddyCNN,
    SequenceModel,
    build_model,
    checkpoint,
    count_parameters,
    from_checkpoint,
    load_model,
    model_device,
    read_checkpoint,
)

__all__ = [
    "ACTIVATIONS",
    "ARCHS",
    "POOLS",
    "Basset",
    "BinnedModel",
    "ProfileModel",
    "ReverseComplementAverage",
    "build_track_model",
    "flip_tracks",
    "ConvBlock",
    "DanQ",
    "DeepBind",
    "DilatedCNN",
    "Ensemble",
    "ExpActivation",
    "FixedFilterConv1d",
    "KooEddyCNN",
    "MaskedBiLSTM",
    "MaskedMaxPool1d",
    "PWMConv1d",
    "pwm_entropy",
    "Pointwise",
    "PoolingHead",
    "SequenceModel",
    "activation",
    "build_model",
    "checkpoint",
    "count_parameters",
    "from_checkpoint",
    "load_ensemble",
    "load_model",
    "model_device",
    "read_checkpoint",
    "gradient_footprint",
    "masked_global_avg",
    "masked_global_max",
    "masked_max_pool1d",
    "mlp",
    "model_receptive_field",
    "receptive_field",
    "total_stride",
]
