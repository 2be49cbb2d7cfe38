"""Medal learner: the CNN, training from labels, query strategies, scoring and the worker."""
