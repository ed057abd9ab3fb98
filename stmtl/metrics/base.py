"""What every stmtl metric shares: string inputs, an offline ``evaluate.Metric`` info, the scikit-learn citation."""

from __future__ import annotations

from typing import ClassVar

import datasets
import evaluate

LABELS = datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")})
"""One label per example."""
LABEL_SEQUENCES = datasets.Features(
    {
        "predictions": datasets.Sequence(datasets.Value("string")),
        "references": datasets.Sequence(datasets.Value("string")),
    }
)
"""A list of labels per example (tags, label sets, per-task labels)."""

SCIKIT_LEARN_CITATION = """\
@article{scikit-learn, title={Scikit-learn: Machine Learning in {P}ython}, author={Pedregosa, F. and others},
journal={Journal of Machine Learning Research}, volume={12}, pages={2825--2830}, year={2011}}
"""


class StringMetric(evaluate.Metric):
    """An ``evaluate.Metric`` over string labels, described by class attributes; works fully offline.

    Subclasses set :attr:`metric_description`, :attr:`metric_inputs`, :attr:`metric_citation` and
    :attr:`metric_features` (names that do not shadow ``evaluate``'s own info properties), and implement
    ``_compute``. Labels are compared as strings, so labels unknown to a model simply count as wrong.
    """

    metric_description: ClassVar[str] = ""
    metric_inputs: ClassVar[str] = ""
    metric_citation: ClassVar[str] = ""
    metric_features: ClassVar[datasets.Features] = LABEL_SEQUENCES

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=self.metric_description,
            citation=self.metric_citation,
            inputs_description=self.metric_inputs,
            features=self.metric_features,
        )
