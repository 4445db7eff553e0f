"""Parameter files of the ATOM-style tracker: default (EBM), iou, no_refine, multiscale, gauss."""
