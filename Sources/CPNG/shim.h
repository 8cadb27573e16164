#include <png.h>
/* PNG_FORMAT_* macros built from flags do not import into Swift; expose the ones we use. */
static inline unsigned int cpng_format_rgba(void) { return PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA; }
static inline unsigned int cpng_format_bgra(void) { return PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_BGR; }
static inline unsigned int cpng_image_version(void) { return PNG_IMAGE_VERSION; }
