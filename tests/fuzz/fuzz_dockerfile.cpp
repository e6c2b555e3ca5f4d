// Fuzz: Dockerfiles (build/): parse the input, split it into stages, expand every instruction's words and pairs, and use it as an ignore file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "build/dockerfile.hpp"
#include "build/expand.hpp"
#include "build/ignore.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    static const hako::build::Vars vars = {{"v", "value"}, {"p", "/usr/local/bin"}, {"e", ""}, {"list", "a b c"}};
    auto df = hako::build::parse(text);
    if (df) {
        (void)hako::build::stages_of(*df);
        for (const auto& in : df->instructions) {
            hako::build::Expander x{vars, df->escape};
            auto w = x.words(in.args);
            if (!w && w.error().msg.empty()) __builtin_trap();  // (an error says what)
            (void)x.word(in.args);
            for (const auto& f : in.flags) (void)x.word(f);
            for (const auto& h : in.heredocs) (void)hako::build::Expander{vars, df->escape, true}.word(h.body);
            if (in.keyword == "ENV" || in.keyword == "LABEL") (void)hako::build::key_values(in, df->escape);
            (void)hako::build::parse_line(in.text, df->escape, "fuzz");
        }
    } else if (df.error().msg.empty()) {
        __builtin_trap();
    }
    hako::build::Ignore ig(text.substr(0, 512));
    for (const char* p : {"a.log", "keep.log", "src/x/y/z.o", "docs/a/b/c/d/e/f/g/draft", "deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n"})
        (void)ig.excluded(p);
    return 0;
}
