"""Parameter files of the ATOM-style tracker: default (EBM, ML-IS), nce (EBM, NCE+), iou (IoU-Net), gauss
(Gaussian-NLL regression), no_refine and multiscale (backbone only), fast (cheaper EBM)."""
