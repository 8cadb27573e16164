// ExperimentKit module (work in progress: see issues).
