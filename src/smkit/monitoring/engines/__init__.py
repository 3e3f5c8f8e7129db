"""Pure analysis engines behind Model Monitor, model quality and Clarify.

Each module here is a self-contained analysis (no backend, no heavy import at package
import time: numpy and the like are imported inside the functions that need them):

- `smkit.monitoring.engines.kll`: Deequ's deterministic KLL sketch
  (``QuantileNonSample`` + ``NonSampleCompactor``), the one SageMaker's analyzer writes;
- `smkit.monitoring.engines.data_quality`: the data-quality analyzer (statistics,
  constraints, checks);
- `smkit.monitoring.engines.model_quality`: model-quality metrics and checks;
- `smkit.monitoring.engines.clarify`: Clarify explainability (SHAP, nDCG drift);
- `smkit.monitoring.engines.capture`: the one reader of capture JSONL;
- `smkit.monitoring.engines.registry`: monitor types keyed by kind.
"""
