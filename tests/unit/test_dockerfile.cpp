// The Dockerfile parser, word expansion and ignore files (BuildKit's rules).
#include <gtest/gtest.h>

#include "build/dockerfile.hpp"
#include "build/expand.hpp"
#include "build/ignore.hpp"

namespace hako::build {
namespace {

Dockerfile parse_ok(const std::string& text) {
    auto df = parse(text);
    EXPECT_TRUE(df) << (df ? "" : df.error().what());
    return df ? *df : Dockerfile{};
}

std::string parse_err(const std::string& text) {
    auto df = parse(text);
    EXPECT_FALSE(df);
    return df ? "" : df.error().what();
}

TEST(Dockerfile, InstructionsFlagsAndForms) {
    auto df = parse_ok("FROM busybox AS b\n\nrun --mount=type=cache,target=/c --network=none echo hi\n"
                       "CMD [\"a\", \"b c\"]\nCMD [not json\nCOPY --from=b --chown=1:2 /x /y\n");
    ASSERT_EQ(df.instructions.size(), 5u);
    EXPECT_EQ(df.instructions[1].keyword, "RUN");
    EXPECT_EQ(df.instructions[1].line, 3);
    EXPECT_EQ(df.instructions[1].flag_all("mount"), std::vector<std::string>{"type=cache,target=/c"});
    EXPECT_EQ(df.instructions[1].flag("network").value_or("?"), "none");
    EXPECT_FALSE(df.instructions[1].flag("from"));
    EXPECT_EQ(df.instructions[1].args, "echo hi");
    EXPECT_FALSE(df.instructions[1].json);
    EXPECT_TRUE(df.instructions[2].json);
    EXPECT_EQ(df.instructions[2].json_args, (std::vector<std::string>{"a", "b c"}));
    EXPECT_FALSE(df.instructions[3].json);  // (not a JSON array: shell form)
    EXPECT_EQ(df.instructions[3].args, "[not json");
    EXPECT_EQ(df.instructions[4].flag("from").value_or(""), "b");
    EXPECT_EQ(df.instructions[4].flag("chown").value_or(""), "1:2");
}

TEST(Dockerfile, ContinuationsCommentsAndDirectives) {
    auto df = parse_ok("# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\nRUN echo a `\n  # a comment inside\n\n  b\n"
                       "# escape=\\ (too late: a comment)\nRUN c:\\path\\\n");
    EXPECT_EQ(df.escape, '`');
    EXPECT_EQ(df.syntax, "docker/dockerfile:1");
    ASSERT_EQ(df.instructions.size(), 3u);
    EXPECT_EQ(df.instructions[1].args, "echo a   b");
    EXPECT_EQ(df.instructions[2].args, "c:\\path\\");  // (` escapes here, so \ is plain)
    auto bs = parse_ok("FROM x\nRUN a \\\n b \\  \n c\nENV k=v\n");
    ASSERT_EQ(bs.instructions.size(), 3u);
    EXPECT_EQ(bs.instructions[1].args, "a  b  c");
    EXPECT_EQ(bs.instructions[2].line, 5);
    EXPECT_NE(parse_err("# escape=x\nFROM a\n").find("invalid escape"), std::string::npos);
    EXPECT_NE(parse_err("# escape=\\\n# escape=`\nFROM a\n").find("twice"), std::string::npos);
}

TEST(Dockerfile, Heredocs) {
    auto df = parse_ok("FROM a\nRUN <<EOF\necho $x\n  two\nEOF\nCOPY <<-\"A\" <<B /d/\n\tone\n\tA\nbee\nB\nRUN cat <<'Q' >f\nq\nQ\nCMD x\n");
    ASSERT_EQ(df.instructions.size(), 5u);
    const auto& run = df.instructions[1];
    ASSERT_EQ(run.heredocs.size(), 1u);
    EXPECT_EQ(run.heredocs[0].name, "EOF");
    EXPECT_EQ(run.heredocs[0].body, "echo $x\n  two\n");
    EXPECT_TRUE(run.heredocs[0].expand);
    const auto& copy = df.instructions[2];
    ASSERT_EQ(copy.heredocs.size(), 2u);
    EXPECT_EQ(copy.heredocs[0].body, "one\n");  // <<-: tabs stripped
    EXPECT_FALSE(copy.heredocs[0].expand);      // quoted: as written
    EXPECT_EQ(copy.heredocs[1].body, "bee\n");
    EXPECT_EQ(df.instructions[3].heredocs.at(0).name, "Q");
    EXPECT_FALSE(df.instructions[3].heredocs.at(0).expand);
    EXPECT_EQ(df.instructions[4].keyword, "CMD");
    EXPECT_NE(parse_err("FROM a\nRUN <<EOF\nnever ends\n").find("Dockerfile:2: the heredoc `EOF`"), std::string::npos);
    // not where heredocs are allowed: plain text
    EXPECT_TRUE(parse_ok("FROM a\nENV x=<<EOF\n").instructions[1].heredocs.empty());
}

TEST(Dockerfile, Errors) {
    EXPECT_NE(parse_err("FROM a\nFROBNICATE x\n").find("Dockerfile:2: unknown instruction `FROBNICATE`"), std::string::npos);
    EXPECT_NE(parse_err("FROM a\nONBUILD FROM b\n").find("not allowed as an ONBUILD trigger"), std::string::npos);
    auto df = parse_ok("RUN x\n");
    auto st = stages_of(df);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().msg.find("RUN before the first FROM"), std::string::npos);
    EXPECT_FALSE(stages_of(parse_ok("ARG X=1\n")));
    EXPECT_FALSE(stages_of(parse_ok("FROM a AS x\nFROM b AS X\n")));
    EXPECT_FALSE(stages_of(parse_ok("FROM a AS 9bad\n")));
    EXPECT_FALSE(stages_of(parse_ok("FROM a b c d\n")));
}

TEST(Dockerfile, Stages) {
    auto df = parse_ok("ARG A=1\nARG B\nFROM x AS One\nRUN a\nFROM y\nCOPY --from=one /a /b\nRUN b\n");
    auto st = stages_of(df);
    ASSERT_TRUE(st) << st.error().what();
    EXPECT_EQ(st->global_args.size(), 2u);
    ASSERT_EQ(st->stages.size(), 2u);
    EXPECT_EQ(st->stages[0].name, "one");
    EXPECT_EQ(st->stages[0].base, "x");
    EXPECT_EQ(st->stages[0].body.size(), 1u);
    EXPECT_EQ(st->stages[1].name, "");
    EXPECT_EQ(st->stages[1].body.size(), 2u);
}

TEST(Dockerfile, KeyValues) {
    auto df = parse_ok("FROM a\nENV a=1 b=\"two words\" c=x\\ y\nENV legacy the rest  of it\nLABEL \"k k\"=v\nLABEL nokey\n");
    auto kv = key_values(df.instructions[1], '\\');
    ASSERT_TRUE(kv);
    ASSERT_EQ(kv->size(), 3u);
    EXPECT_EQ((*kv)[1].first, "b");
    EXPECT_EQ((*kv)[1].second, "\"two words\"");  // (raw: expansion removes quotes)
    EXPECT_EQ((*kv)[2].second, "x\\ y");
    auto legacy = key_values(df.instructions[2], '\\');
    ASSERT_TRUE(legacy);
    EXPECT_EQ(legacy->at(0).first, "legacy");
    EXPECT_EQ(legacy->at(0).second, "the rest  of it");
    EXPECT_EQ(key_values(df.instructions[3], '\\')->at(0).first, "\"k k\"");
    EXPECT_FALSE(key_values(df.instructions[4], '\\'));
}

std::string ex(const std::string& s, const Vars& v = {{"v", "value"}, {"e", ""}, {"p", "/usr/local/bin"}}) {
    auto r = Expander{v}.word(s);
    return r ? *r : "ERR: " + r.error().msg;
}

TEST(Expand, Modifiers) {
    EXPECT_EQ(ex("$v ${v} x${v}y"), "value value xvaluey");
    EXPECT_EQ(ex("${nope}|$nope|$"), "||$");
    EXPECT_EQ(ex("${v:-w} ${e:-w} ${nope:-w} ${e-w} ${nope-w}"), "value w w  w");
    EXPECT_EQ(ex("${v:+w}|${e:+w}|${e+w}|${nope+w}"), "w||w|");
    EXPECT_EQ(ex("${p#*/} ${p##*/} ${p%/*} ${p%%/*}|"), "usr/local/bin bin /usr/local |");
    EXPECT_EQ(ex("${v/al/AL} ${p//\\//:} ${v/x/y}"), "vALue :usr:local:bin value");
    EXPECT_EQ(ex("${nope:-${v}-nested}"), "value-nested");
    EXPECT_NE(ex("${nope:?must be set}").find("must be set"), std::string::npos);
    EXPECT_NE(ex("${e:?}").find("not set or is empty"), std::string::npos);
    EXPECT_EQ(ex("${e?}"), "");
    EXPECT_NE(ex("${v").find("ERR"), std::string::npos);
    EXPECT_NE(ex("${v:x}").find("ERR"), std::string::npos);
    EXPECT_NE(ex("${}").find("ERR"), std::string::npos);
}

TEST(Expand, QuotesAndEscapes) {
    EXPECT_EQ(ex("'$v'"), "$v");
    EXPECT_EQ(ex("\"$v is \\\"q\\\"\""), "value is \"q\"");
    EXPECT_EQ(ex("\\$v"), "$v");
    EXPECT_EQ(ex("a\\ b"), "a b");
    EXPECT_EQ(ex("\"a\\nb\""), "a\\nb");  // (in "", the escape only escapes " $ and itself)
    EXPECT_NE(ex("'open").find("ERR"), std::string::npos);
    EXPECT_NE(ex("\"open").find("ERR"), std::string::npos);
    Vars v{{"v", "x"}};
    EXPECT_EQ(*(Expander{v, '`'}.word("`$v \\n")), "$v \\n");
    // heredoc bodies: quotes stay, \$ escapes
    EXPECT_EQ(*(Expander{v, '\\', true}.word("'$v' \"$v\" \\$v \\n")), "'x' \"x\" $v \\n");
}

TEST(Expand, Words) {
    Vars v{{"list", "a b  c"}, {"one", "x"}};
    auto w = Expander{v}.words("$list \"$list\" '' ${one}y  end");
    ASSERT_TRUE(w);
    EXPECT_EQ(*w, (std::vector<std::string>{"a", "b", "c", "a b  c", "", "xy", "end"}));
}

TEST(Ignore, Patterns) {
    Ignore ig("# comment\n*.log\n!keep.log\n/build/\ntmp*\n**/*.o\ndocs/**/draft\n");
    EXPECT_TRUE(ig.excluded("a.log"));
    EXPECT_FALSE(ig.excluded("keep.log"));
    EXPECT_FALSE(ig.excluded("sub/a.log"));  // (* stays in one segment)
    EXPECT_TRUE(ig.excluded("build"));
    EXPECT_TRUE(ig.excluded("build/x/y"));   // below an excluded dir
    EXPECT_TRUE(ig.excluded("tmpfile"));
    EXPECT_TRUE(ig.excluded("a/b/c.o"));
    EXPECT_TRUE(ig.excluded("c.o"));
    EXPECT_TRUE(ig.excluded("docs/draft"));
    EXPECT_TRUE(ig.excluded("docs/a/b/draft/x"));
    EXPECT_FALSE(ig.excluded("src/main.c"));
    EXPECT_TRUE(ig.has_exceptions());
    // the last matching line wins
    Ignore last("!a.txt\n*.txt\n");
    EXPECT_TRUE(last.excluded("a.txt"));
    EXPECT_TRUE(path_match("[a-c]?.md", "b1.md"));
    EXPECT_FALSE(path_match("[!a-c]?.md", "b1.md"));
    EXPECT_FALSE(path_match("?", "/"));
    EXPECT_TRUE(path_match("a\\*b", "a*b"));
    EXPECT_FALSE(path_match("a\\*b", "axb"));
}

}  // namespace
}  // namespace hako::build
