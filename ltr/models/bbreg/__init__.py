"""Box estimators: the ATOM IoU-Net architecture (EBM score / IoU) and a direct regression variant."""
from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from ltr.models.bbreg.regression_net import BoxRegressionNet, apply_offset

__all__ = ["AtomIoUNet", "BoxRegressionNet", "apply_offset"]
