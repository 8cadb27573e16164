// Data module (work in progress: see issues).
