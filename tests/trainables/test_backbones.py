"""The pretrained-network table takes other keras.applications namings than ResNet's."""

from trainables import networks
from trainables.backbones import BACKBONES, KERAS_WEIGHTS_URL, Backbone


def test_blocks_named_by_a_number_or_a_letter():
    resnet = BACKBONES["resnet50"].block_pattern
    assert networks.block_of("conv4_block12_out", resnet) == (4, 12)
    assert networks.block_of("conv1_conv", resnet) is None  # the stem
    efficientnet = r"^block(\d+)([a-z])_"
    assert networks.block_of("block1a_expand_conv", efficientnet) == (1, 1)
    assert networks.block_of("block6d_se_reduce", efficientnet) == (6, 4)
    assert networks.block_of("top_conv", efficientnet) is None


def test_a_weights_folder_may_be_a_whole_url():
    assert BACKBONES["resnet50"].weights_url == f"{KERAS_WEIGHTS_URL}resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    b = Backbone("x", "EfficientNetB0", "efficientnetb0_notop.h5", "https://example.org/keras-applications/", r"^block(\d+)([a-z])_")
    assert b.weights_url == "https://example.org/keras-applications/efficientnetb0_notop.h5"
