"""Chest X-ray pneumonia detection with a calibration model deployed on top.

The machine-learning parts live in ``scripts/`` (shipped to the training and inference
containers as they are):

- ``scripts/train.py``: a SageMaker script-mode training script. Trains a small CNN (or a
  torchvision resnet18 from scratch, ``--arch resnet18``) on images in Kaggle's "Chest X-Ray
  Images (Pneumonia)" layout, fits temperature, Platt and isotonic calibrators on the
  validation outputs, picks one by cross-validated validation log-loss, and writes the model,
  the calibrator and (with a ``test`` split) ``calibration.json``, ``predictions.csv`` and
  ``reliability.json``.
- ``scripts/calibration.py``: the calibration math (pure numpy): calibrators, ECE with 15
  equal-width bins, Brier score, log-loss, reliability-diagram data, decision threshold for a
  target sensitivity; also runnable on its own over prediction CSVs.
- ``scripts/inference.py``: classifier and calibrator as one endpoint (raw and calibrated
  probability). ``scripts/calibrator_inference.py``: the calibrator alone, the second
  container of a serial inference pipeline.

The synthetic data comes from :func:`smkit.datasets.synthetic_images.make_chest_xray_dataset`.
"""
