// Artifacts module (work in progress: see issues).
