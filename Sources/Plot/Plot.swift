// Plot module (work in progress: see issues).
