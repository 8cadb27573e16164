// Optim module (work in progress: see issues).
