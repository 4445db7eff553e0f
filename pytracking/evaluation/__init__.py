"""Evaluation: datasets in the official layouts, the ``Tracker`` runner and result files.

Public API::

    from pytracking.evaluation import Sequence, get_dataset, Tracker, trackerlist, run_dataset
"""
from pytracking.evaluation.datasets import dataset_names, get_dataset, get_dataset_object
from pytracking.evaluation.running import RunReport, run_dataset, shard_sequences
from pytracking.evaluation.sequence import Sequence
from pytracking.evaluation.tracker import (Tracker, available_parameters, available_trackers, check_tracker_name,
                                          trackerlist)

__all__ = ["Sequence", "get_dataset", "get_dataset_object", "dataset_names", "Tracker", "trackerlist",
           "available_trackers", "available_parameters", "check_tracker_name", "run_dataset", "RunReport", "shard_sequences"]
