// A stored layer back to a tar stream (for push and save): overlayfs's
// whiteouts become OCI's (`.wh.NAME`, `.wh..wh..opq`), entries in sorted
// order, hard links kept; the tar hashed (diff id) and, compressed with
// gzip or zstd (several threads), hashed again (blob digest), into a file.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace hako::image {

enum class Compression { None, Gzip, Zstd };

struct Exported {
    std::string diff_id;      // sha256 hex of the tar
    std::string blob_digest;  // sha256 hex of what was written
    uint64_t size = 0;        // bytes written
};

// Write layer directory `dir` as a tar, compressed, to `fd`.
Result<Exported> export_layer(const std::string& dir, int fd, Compression c, int threads = 2);

}  // namespace hako::image
