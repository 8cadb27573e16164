// History module (work in progress: see issues).
