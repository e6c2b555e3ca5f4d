// sys::read_kernel_file: one read for what the kernel shows in one piece,
// the rest read on when it fills the buffer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "sys/syscalls.hpp"

namespace hako::sys {
namespace {

TEST(ReadKernelFile, ProcStatInOneRead) {
    auto text = read_kernel_file("/proc/self/stat");
    ASSERT_TRUE(text) << text.error().what();
    EXPECT_EQ(text->rfind(std::to_string(getpid()) + " (", 0), 0u) << *text;
    EXPECT_EQ(text->back(), '\n');
}

TEST(ReadKernelFile, MoreThanTheBufferComesWhole) {
    char path[] = "/tmp/hako-read-kernel-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::string content;
    for (int i = 0; content.size() < 10000; ++i) content += std::to_string(i) + "\n";
    ASSERT_TRUE(write_all(fd, content.data(), content.size()));
    close(fd);
    auto text = read_kernel_file(path);
    unlink(path);
    ASSERT_TRUE(text) << text.error().what();
    EXPECT_EQ(*text, content);
    auto missing = read_kernel_file("/proc/self/no-such-file");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().what().find("/proc/self/no-such-file"), std::string::npos) << missing.error().what();
}

}  // namespace
}  // namespace hako::sys
