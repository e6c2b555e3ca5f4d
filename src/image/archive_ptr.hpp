// RAII owners of libarchive's handles: readers, writers and entries.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace hako::image {

struct ArchiveReadFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveEntryFree {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;  // archive_read_new / _disk_new
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteFree>;  // archive_write_new / _disk_new
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;

}  // namespace hako::image
