// EPK module (work in progress: see issues).
