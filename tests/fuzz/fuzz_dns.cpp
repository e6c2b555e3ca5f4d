// Fuzz: DNS messages a resolver receives from containers and upstreams
// (net/dns): parse, answer, rewrite.
#include <vector>

#include "net/dns.hpp"
#include "net/resolver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace hako::net;
    std::span<const uint8_t> msg(data, size);
    (void)dns::reply_id(msg);
    auto q = dns::parse_query(msg);
    if (!q) return 0;
    if (q->question_end > size) __builtin_trap();
    (void)dns::ptr_address(q->name);
    static const Names names = parse_names("10.1.0.2 web alias\nfd00::2 web\n");
    std::vector<dns::Answer> answers;
    (void)answer_locally(names, *q, answers);
    auto reply = dns::make_reply(*q, msg, dns::kNoError, answers, 30);
    if (!dns::reply_id(reply)) __builtin_trap();
    std::vector<uint8_t> copy(data, data + size);
    dns::set_id(copy, 7);
    return 0;
}
