"""svc: the RBF SVC fit and predict through oneDAL (scikit-learn-intelex) against
scikit-learn's libsvm, on the svm defaults' features, at each rung of the svm fidelity
schedule, with 1 thread (a trial) and 2 (the export's refit); interleaved, medians."""

from __future__ import annotations

import numpy as np

from .common import Context, figure, interleaved, median


def run(ctx: Context) -> dict:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from spaces import svm as space
    from trainables import fast_svc, svm
    from trainables.classical import nested_order, subset_size

    if not fast_svc.available():
        return {"figures": [], "note": "scikit-learn-intelex is not installed: nothing to compare"}
    _, splits = ctx.splits()
    config = dict(space.DEFAULTS, mirror=False)
    x_all = svm.features(config, splits)
    train, val = splits.index["train"], splits.index["val"]
    order = train[nested_order(splits.labels[train], ctx.seed)]
    rungs = space.FIDELITY.rungs[-2:] if ctx.quick else space.FIDELITY.rungs
    repeats = 1 if ctx.quick else 2
    figures, details = [], []
    for threads in (1, 2):
        for fraction in rungs:
            rows = order[: subset_size(len(train), fraction, 7)]
            prep = StandardScaler().fit(x_all[rows])
            n = min(config["pca_components"], len(rows), x_all.shape[1])  # as trainables.svm.fit caps it
            pca = PCA(n, random_state=0).fit(prep.transform(x_all[rows]))
            x, xv = pca.transform(prep.transform(x_all[rows])), pca.transform(prep.transform(x_all[val]))
            gamma = 1.0 / (x.shape[1] * x.var())
            models = {}

            def fitter(backend):
                def fit():
                    models[backend] = fast_svc.fit(x, splits.labels[rows], C=config["C"], gamma=gamma,
                                                   class_weight=None, threads=threads, backend=backend)
                return fit

            fits = interleaved({"onedal": fitter("onedal"), "libsvm": fitter("libsvm")}, repeats)
            preds = {}
            predicts = interleaved({b: (lambda b=b: preds.__setitem__(b, models[b].predict(xv))) for b in models}, repeats)
            agree = float(np.mean(preds["onedal"] == preds["libsvm"]))
            label = f"{len(rows)} faces, {threads} thread(s)"
            figures.append(figure(f"svc fit, {label}", median(fits["onedal"]), median(fits["libsvm"]),
                                  "scikit-learn SVC (libsvm)", "s", better="lower"))
            figures.append(figure(f"svc predict {len(val)} val faces, {label}", median(predicts["onedal"]),
                                  median(predicts["libsvm"]), "scikit-learn SVC (libsvm)", "s", better="lower"))
            details.append({"faces": len(rows), "threads": threads, "fit_s": fits, "predict_s": predicts,
                            "predictions_agree": agree,
                            "val_accuracy": {b: float(np.mean(p == splits.labels[val])) for b, p in preds.items()}})
            ctx.say(f"svc: {label}: fit {median(fits['onedal']):.2f} s against {median(fits['libsvm']):.2f} s, "
                    f"predictions agree on {agree:.4f}")
    return {"figures": figures, "details": details}
