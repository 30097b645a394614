"""The table of pretrained backbones: one line per network family that fine-tunes one.

Read by the family registry (which lists a family per line, so nothing here may import
anything heavy) and by ``networks.build``. Adding a pretrained network is a line here and
its space module ``spaces/<name>.py``; the driver learns the rest from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Backbone:
    summary: str  # the family's one-line description in --help
    application: str  # the keras.applications constructor
    weights_file: str  # its ImageNet weights without the top, as Keras caches them
    # where under KERAS_WEIGHTS_URL Keras fetches them, or a whole URL of a folder
    # (EfficientNet's weights live under another prefix)
    weights_folder: str
    # the layer names of its trainable blocks, unfrozen from the top: a pattern whose two
    # groups are the stage and the block, each a number or a letter (ResNet's
    # r"^conv(\d)_block(\d+)_", EfficientNet's r"^block(\d+)([a-z])_")
    block_pattern: str
    # subtracted per channel before the backbone (caffe-style models); None where the
    # application normalises its 0-255 input itself
    channel_means: tuple | None = None

    @property
    def weights_url(self) -> str:
        base = self.weights_folder if "://" in self.weights_folder else KERAS_WEIGHTS_URL + self.weights_folder
        return f"{base.rstrip('/')}/{self.weights_file}"


# keras.applications' ResNets are "caffe" style: BGR, minus the ImageNet channel means.
# A grey face repeated to three channels is the same in RGB and BGR, so only the means
# matter.
_CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)
_RESNET_BLOCKS = r"^conv(\d)_block(\d+)_"

BACKBONES: dict[str, Backbone] = {
    "resnet50": Backbone("ResNet50 fine-tuning in Keras (learning rates, unfrozen blocks, input size)", "ResNet50",
                         "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "resnet", _RESNET_BLOCKS, _CAFFE_MEANS_BGR),
    "resnet101": Backbone("ResNet101 fine-tuning in Keras (learning rates, unfrozen blocks, input size)", "ResNet101",
                          "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5", "resnet", _RESNET_BLOCKS, _CAFFE_MEANS_BGR),
}
