"""The complexity router's lab: datasets, training, evaluation and metrics.

Everything that fits or measures the estimator lives here, behind the ``[train]`` extra
(numpy, scikit-learn, scipy); the engine only runs inference (``routing.complexity``) and
never imports this package. Imports run one way: ``artefact`` -> ``evaluate`` -> ``train``
-> ``data`` / ``metrics`` -> ``routing.complexity``.
"""
