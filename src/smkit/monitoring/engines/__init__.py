"""Pure analysis engines behind Model Monitor, model quality and Clarify.

Each module here is a self-contained algorithm with no I/O and no heavy import at package
import time (numpy is imported inside the functions that need it):

- `smkit.monitoring.engines.kll`: Deequ's deterministic KLL sketch
  (``QuantileNonSample`` + ``NonSampleCompactor``), the one SageMaker's analyzer writes;
- `smkit.monitoring.engines.datatypes`: Deequ's type-inference patterns.
"""
