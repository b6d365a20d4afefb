// Decoding screenshots in tests with Debian's libpng (//tests:libpng).
#pragma once

#include <png.h>

#include <cstring>
#include <string>

namespace virtgrpc::testing {

// Decodes the whole PNG in `bytes` (every row, so a truncated image fails); sets its
// width and height. False when it is not a valid PNG.
inline bool DecodePng(const std::string &bytes, png_uint_32 *width, png_uint_32 *height) {
    png_image image;
    memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
        return false;
    image.format = PNG_FORMAT_RGB;
    std::string pixels(PNG_IMAGE_SIZE(image), '\0');
    bool ok = png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr);
    *width = image.width;
    *height = image.height;
    png_image_free(&image);
    return ok;
}

}  // namespace virtgrpc::testing
