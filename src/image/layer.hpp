// One layer: a tar stream unpacked into a directory (layer.cpp), and the
// SHA-256 it is stored under.
#pragma once

#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "image/image.hpp"

struct archive;

namespace hako::image {

// libarchive's message for its last error on `a`, or "failed" when it left
// none (archive_error_string may return NULL, even after ARCHIVE_FATAL).
std::string archive_message(struct archive* a);

struct Unpacked {
    std::string digest;       // sha256 hex of the uncompressed tar (the diff id): the layer's name
    std::string blob_digest;  // sha256 hex of the stream as read (compressed or not)
    uint64_t size = 0;        // bytes of file data
};
// A tar entry's name made relative and plain: "./a/b/" -> "a/b"; "" for
// the root itself.
std::string clean_name(const char* p);

// Unpack the tar stream on `fd` (any compression libarchive knows) into
// the existing, empty directory `dir`. On failure, `blob_on_error` (when
// given) gets the digest of the whole stream (the rest read and hashed).
// Nothing is written outside `dir` (`..`, absolute names, symlinks and hard
// links that lead out, whiteouts through a symlink); a layer stops with an
// error past HAKO_LAYER_MAX_SIZE bytes or when its file system is nearly full.
Result<Unpacked> unpack_layer(int fd, const std::string& dir, const Progress& progress,
                              std::string* blob_on_error = nullptr);

}  // namespace hako::image
