"""Network trainables with a failure built in, for tests: the real trainables.deep.train,
plus a NaN on the space's defaults, or one crash after the first epoch."""

from pathlib import Path

from trainables import deep



def _is_default(config):
    return config.get("learning_rate") == 1e-3 and config.get("dropout") == 0.4


def train_nan_on_defaults(config, data, settings):
    if _is_default(config):
        # an absurd learning rate: the loss overflows to inf/NaN in the first epoch
        config = {**config, "optimizer": "sgd", "learning_rate": 1e30}
    deep.train(config, data, settings)


def train_crash_once(config, data, settings):
    """Dies right after the first epoch's checkpoint, once: Ray Tune restarts the trial
    from that checkpoint."""
    from ray import tune

    marker = Path(tune.get_context().get_trial_dir()) / "crashed-once"  # the trial's folder outlives the crash
    if tune.get_checkpoint() is None and not marker.exists():
        settings = {**settings, "max_epochs": 1}
        deep.train(config, data, settings)
        marker.write_text("crashed once")
        raise RuntimeError("simulated crash after epoch 1")
    deep.train(config, data, settings)
