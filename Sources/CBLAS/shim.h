#include <cblas.h>
/* OpenBLAS extensions for thread control (declared in openblas_config.h via cblas.h). */
