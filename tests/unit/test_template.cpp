// format/template: docker's Go text/template subset over JSON (--format, inspect -f), its tables.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/template.hpp"

namespace hako::format {
namespace {

using nlohmann::json;

const json& data() {
    static const json d = json::parse(R"({
      "ID": "abc123", "Names": "web", "Image": "busybox",
      "State": {"Status": "running", "Running": true, "Pid": 42},
      "Config": {"Labels": {"a": "1", "com.example.x": "y"}, "Env": []},
      "Mounts": [{"Source": "/src", "Destination": "/dst"}, {"Source": "/v2", "Destination": "/d2"}],
      "Args": ["-c", "echo hi"],
      "N": 3, "Neg": -7, "F": 0.5, "Big": 1000000.0, "Null": null, "Empty": "", "Zero": 0, "False": false,
      "L": ["a", "b", "c"], "Nums": [1, 2, 3], "M": {"b": 2, "a": 1}, "EmptyL": [], "EmptyM": {},
      "Nested": [[1, 2], {"k": null}]
    })");
    return d;
}

// The output, or the error (prefixed, so a test cannot mistake one for the other).
std::string render(std::string_view text, const json& d = data()) {
    auto t = Template::parse(text);
    if (!t) return "PARSE ERROR: " + t.error().msg;
    auto r = t->render(d);
    if (!r) return "RENDER ERROR: " + r.error().msg;
    return *r;
}
std::string parse_error(std::string_view text) {
    auto t = Template::parse(text);
    return t ? std::string("(parsed)") : t.error().msg;
}
std::string render_error(std::string_view text, const json& d = data()) {
    auto t = Template::parse(text);
    if (!t) return "PARSE ERROR: " + t.error().msg;
    auto r = t->render(d);
    return r ? "(rendered: " + *r + ")" : r.error().msg;
}

// --- docker's everyday formats -------------------------------------------------------

TEST(Template, DockerExamples) {
    EXPECT_EQ(render("{{.ID}}\t{{.Names}}"), "abc123\tweb");
    EXPECT_EQ(render("{{.State.Status}}"), "running");
    EXPECT_EQ(render("{{index .Config.Labels \"a\"}}"), "1");
    EXPECT_EQ(render("{{index .Config.Labels \"com.example.x\"}}"), "y");
    EXPECT_EQ(render("{{range .Mounts}}{{.Source}} {{end}}"), "/src /v2 ");
    EXPECT_EQ(render("{{join .Args \",\"}}"), "-c,echo hi");
    EXPECT_EQ(render("{{json .State}}"), R"({"Pid":42,"Running":true,"Status":"running"})");
    EXPECT_EQ(render("{{json .}}", json::parse(R"({"b":[1,2.5,null],"a":"x<y&\"z\""})")),
              R"({"a":"x<y&\"z\"","b":[1,2.5,null]})");
    EXPECT_EQ(render("{{.Names | upper}}"), "WEB");
    EXPECT_EQ(render("{{.State.Pid}} {{.State.Running}}"), "42 true");
}

TEST(Template, PlainTextPassesThrough) {
    EXPECT_EQ(render(""), "");
    EXPECT_EQ(render("no actions } }} {"), "no actions } }} {");
    EXPECT_EQ(render("a\nb"), "a\nb");
}

// --- fields ---------------------------------------------------------------------------

TEST(Template, UnknownFieldNamesItAndListsTheKeys) {
    json small = {{"ID", "x"}, {"Names", "n"}, {"Image", "i"}};
    EXPECT_EQ(render_error("{{.Nmae}}", small), "template: `.Nmae`: no field `Nmae` (fields: ID, Image, Names)");
    EXPECT_EQ(render_error("{{.State.Stauts}}"),
              "template: `.State.Stauts`: no field `Stauts` (fields: Pid, Running, Status)");
    EXPECT_EQ(render_error("{{.X}}", json::object()), "template: `.X`: no field `X` (no fields)");
    json many = json::object();
    for (int i = 0; i < 25; ++i) many["k" + std::string(1, static_cast<char>('a' + i))] = i;
    EXPECT_EQ(render_error("{{.Nope}}", many),
              "template: `.Nope`: no field `Nope` (fields: ka, kb, kc, kd, ke, kf, kg, kh, ki, kj, kk, kl, km, kn, "
              "ko, kp, kq, kr, ks, kt, ...)");
    EXPECT_EQ(render_error("{{with .State}}{{.Pidd}}{{end}}"),
              "template: `.Pidd`: no field `Pidd` (fields: Pid, Running, Status)");
}

TEST(Template, FieldsOfNilAreNoValueAndOfScalarsAnError) {
    EXPECT_EQ(render("{{.Null}}"), "<no value>");
    EXPECT_EQ(render("{{.Null.A.B}}"), "<no value>");
    EXPECT_EQ(render_error("{{.ID.X}}"), "template: `.ID.X`: can't evaluate field `X` in type string");
    EXPECT_EQ(render_error("{{.L.X}}"), "template: `.L.X`: can't evaluate field `X` in type []interface {}");
    EXPECT_EQ(render_error("{{$.N.X}}"), "template: `$.N.X`: can't evaluate field `X` in type int");
}

// --- printing values as Go's fmt ---------------------------------------------------------

TEST(Template, ValuesPrintAsGoDoes) {
    EXPECT_EQ(render("{{.N}} {{.Neg}} {{.F}} {{.Big}}"), "3 -7 0.5 1e+06");
    EXPECT_EQ(render("{{.}}", json(123456.0)), "123456");
    EXPECT_EQ(render("{{.}}", json(1234567.0)), "1.234567e+06");
    EXPECT_EQ(render("{{.}}", json(0.0001)), "0.0001");
    EXPECT_EQ(render("{{.}}", json(0.00001)), "1e-05");
    EXPECT_EQ(render("{{.}}", json(1.5e-7)), "1.5e-07");
    EXPECT_EQ(render("{{.}}", json(-2.0)), "-2");
    EXPECT_EQ(render("{{.}}", json(18446744073709551615ull)), "18446744073709551615");
    EXPECT_EQ(render("{{.False}} {{.State.Running}}"), "false true");
    EXPECT_EQ(render("{{.L}}"), "[a b c]");
    EXPECT_EQ(render("{{.M}}"), "map[a:1 b:2]");
    EXPECT_EQ(render("{{.Nested}}"), "[[1 2] map[k:<nil>]]");
    EXPECT_EQ(render("{{.EmptyL}} {{.EmptyM}} [{{.Empty}}]"), "[] map[] []");
    EXPECT_EQ(render("{{.Mounts}}"), "[map[Destination:/dst Source:/src] map[Destination:/d2 Source:/v2]]");
}

// --- literals ----------------------------------------------------------------------------------

TEST(Template, Literals) {
    EXPECT_EQ(render(R"({{"a\tb\u00e9\x41\101\\\"q\""}})"), "a\tb\xc3\xa9"
                                                            "AA\\\"q\"");
    EXPECT_EQ(render("{{`raw \\n {{ }}`}}"), "raw \\n {{ }}");
    EXPECT_EQ(render("{{`a\r\nb`}}"), "a\nb");  // (raw strings drop \r, as Go's)
    EXPECT_EQ(render("{{42}} {{-3}} {{+5}} {{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}"), "42 -3 5 31 15 15 5 1000");
    EXPECT_EQ(render("{{1.5}} {{1e3}} {{.25}} {{-0.5}} {{0x1p-2}}"), "1.5 1000 0.25 -0.5 0.25");
    EXPECT_EQ(render("{{'a'}} {{'\\n'}} {{'\\x41'}} {{'\xc3\xa9'}}"), "97 10 65 233");
    EXPECT_EQ(render("{{true}} {{false}}"), "true false");
    EXPECT_EQ(render("{{print nil}}"), "<nil>");
    EXPECT_EQ(render("{{9223372036854775807}} {{-9223372036854775808}} {{18446744073709551615}}"),
              "9223372036854775807 -9223372036854775808 18446744073709551615");
}

TEST(Template, BadLiteralsAreParseErrors) {
    EXPECT_EQ(parse_error("{{\"abc}}"), "template: 1:3: unterminated quoted string");
    EXPECT_EQ(parse_error("{{\"a\nb\"}}"), "template: 1:3: unterminated quoted string");
    EXPECT_EQ(parse_error("{{`abc}}"), "template: 1:3: unterminated raw quoted string");
    EXPECT_EQ(parse_error("{{'ab'}}"), "template: 1:3: malformed character constant");
    EXPECT_EQ(parse_error("{{\"\\q\"}}"), "template: 1:3: invalid escape `q`");
    EXPECT_EQ(parse_error("{{\"\\'\"}}"), "template: 1:3: invalid escape `\\'`");
    EXPECT_EQ(parse_error("{{\"\\x4\"}}"), "template: 1:3: invalid escape `\\x`: two hex digits wanted");
    EXPECT_EQ(parse_error("{{1x}}"), "template: 1:3: bad number syntax: `1x`");
    EXPECT_EQ(parse_error("{{08}}"), "template: 1:3: bad number syntax: `08`");
    EXPECT_EQ(parse_error("{{ - }}"), "template: 1:4: bad number syntax: `-`");
    EXPECT_EQ(parse_error("{{99999999999999999999}}"), "template: 1:3: integer overflow: `99999999999999999999`");
    EXPECT_EQ(parse_error("{{1i}}"), "template: 1:3: complex numbers are not supported");
}

// --- trim markers and comments ---------------------------------------------------------------------

TEST(Template, TrimMarkersAndComments) {
    EXPECT_EQ(render("a  \n {{- .Names -}} \n\t b"), "awebb");
    EXPECT_EQ(render("a  {{- .Names}}  b"), "aweb  b");
    EXPECT_EQ(render("a  {{.Names -}}  b"), "a  webb");
    EXPECT_EQ(render("{{.N -}} {{- .N}}"), "33");
    EXPECT_EQ(render("a{{/* a comment {{ }} */}}b"), "ab");
    EXPECT_EQ(render("a {{- /* trimmed */ -}} b"), "ab");
    EXPECT_EQ(render("{{- .Names}}"), "web");
    EXPECT_EQ(parse_error("a{{/* never closed }}"), "template: 1:2: unclosed comment");
    EXPECT_EQ(parse_error("{{/* c */ .X}}"), "template: 1:1: comment ends before closing delimiter");
}

// --- variables -------------------------------------------------------------------------------------

TEST(Template, Variables) {
    EXPECT_EQ(render("{{$x := .Names}}[{{$x}}]"), "[web]");
    EXPECT_EQ(render("{{$x := 1}}{{$x = 2}}{{$x}}"), "2");
    EXPECT_EQ(render("{{$n := 0}}{{range .Nums}}{{$n = .}}{{end}}{{$n}}"), "3");
    EXPECT_EQ(render("{{range .L}}{{$.Names}}{{end}}"), "webwebweb");
    EXPECT_EQ(render("{{$}}", json("root")), "root");
    EXPECT_EQ(render("{{$s := .State}}{{$s.Status}}"), "running");
    EXPECT_EQ(render("{{if $p := .State.Pid}}pid {{$p}}{{end}}"), "pid 42");
    EXPECT_EQ(render("{{with $s := .State}}{{$s.Pid}}{{end}}"), "42");
    EXPECT_EQ(parse_error("{{$x}}"), "template: 1:3: undefined variable `$x`");
    EXPECT_EQ(parse_error("{{$x = 1}}"), "template: 1:3: undefined variable `$x`");
    EXPECT_EQ(parse_error("{{range $i, $e := .L}}{{end}}{{$i}}"), "template: 1:32: undefined variable `$i`");
    EXPECT_EQ(parse_error("{{if true}}{{$y := 1}}{{end}}{{$y}}"), "template: 1:32: undefined variable `$y`");
    EXPECT_EQ(parse_error("{{$a, $b := .L}}"), "template: 1:5: too many declarations in command");
    EXPECT_EQ(parse_error("{{range $a, $b, $c := .L}}{{end}}"), "template: 1:15: too many declarations in range");
}

// --- pipelines -------------------------------------------------------------------------------------

TEST(Template, Pipelines) {
    EXPECT_EQ(render("{{.Names | printf \"%s-%s\" \"a\"}}"), "a-web");
    EXPECT_EQ(render("{{.Names | upper | printf \"<%s>\"}}"), "<WEB>");
    EXPECT_EQ(render("{{(index .Mounts 1).Source}}"), "/v2");
    EXPECT_EQ(render("{{len (split \"a,b,c\" \",\")}}"), "3");
    EXPECT_EQ(render("{{(.State).Status}}"), "running");
    EXPECT_EQ(render("{{printf \"%d\" (len .L)}}"), "3");
    EXPECT_EQ(parse_error("{{.A | \"x\"}}"), "template: `\"x\"`: non executable command in pipeline stage 2");
    EXPECT_EQ(parse_error("{{.A | }}"), "template: 1:6: missing command after `|`");
    EXPECT_EQ(render_error("{{.Names 1}}"), "template: `.Names 1`: `.Names` is not a method but has arguments");
    EXPECT_EQ(render_error("{{1 | .Names}}"), "template: `.Names`: `.Names` is not a method but has arguments");
    EXPECT_EQ(render_error("{{\"x\" 1}}"), "template: `\"x\" 1`: can't give argument to non-function `\"x\"`");
    EXPECT_EQ(render_error("{{nil}}"), "template: `nil`: nil is not a command");
}

// --- if, with, range, break, continue --------------------------------------------------------------

TEST(Template, IfElseChainsAndTruth) {
    const char* t = "{{if eq .N 1}}one{{else if eq .N 3}}three{{else}}other{{end}}";
    EXPECT_EQ(render(t), "three");
    EXPECT_EQ(render(t, json{{"N", 1}}), "one");
    EXPECT_EQ(render(t, json{{"N", 9}}), "other");
    for (const char* f : {".False", ".Zero", ".Empty", ".Null", ".EmptyL", ".EmptyM", "0.0", "(print)"})
        EXPECT_EQ(render(std::string("{{if ") + f + "}}T{{else}}F{{end}}"), "F") << f;
    for (const char* f : {".State.Running", ".N", ".Neg", ".F", ".ID", ".L", ".M", "\" \""})
        EXPECT_EQ(render(std::string("{{if ") + f + "}}T{{else}}F{{end}}"), "T") << f;
    EXPECT_EQ(render("{{if .N}}{{if .Zero}}a{{else}}b{{end}}{{end}}"), "b");
    EXPECT_EQ(render_error("{{if nil}}{{end}}"), "template: `nil`: nil is not a command");
}

TEST(Template, With) {
    EXPECT_EQ(render("{{with .State}}{{.Status}}/{{$.ID}}{{end}}"), "running/abc123");
    EXPECT_EQ(render("{{with .Null}}x{{else}}none{{end}}"), "none");
    EXPECT_EQ(render("{{with .Null}}x{{else with .Config}}{{index .Labels \"a\"}}{{end}}"), "1");
    EXPECT_EQ(render("{{with .Empty}}x{{end}}"), "");
}

TEST(Template, Range) {
    EXPECT_EQ(render("{{range .L}}<{{.}}>{{end}}"), "<a><b><c>");
    EXPECT_EQ(render("{{range $i, $e := .L}}{{$i}}={{$e}},{{end}}"), "0=a,1=b,2=c,");
    EXPECT_EQ(render("{{range $e := .L}}{{$e}}{{end}}"), "abc");
    EXPECT_EQ(render("{{range .M}}{{.}},{{end}}"), "1,2,");  // (values, in key order)
    EXPECT_EQ(render("{{range $k, $v := .M}}{{$k}}={{$v}};{{end}}"), "a=1;b=2;");
    EXPECT_EQ(render("{{range .EmptyL}}x{{else}}empty{{end}}"), "empty");
    EXPECT_EQ(render("{{range .EmptyM}}x{{else}}empty{{end}}"), "empty");
    EXPECT_EQ(render("{{range .Null}}x{{else}}nil{{end}}"), "nil");
    EXPECT_EQ(render("{{range 3}}{{.}}{{end}}"), "012");
    EXPECT_EQ(render("{{range $i := 2}}[{{$i}}]{{end}}"), "[0][1]");
    EXPECT_EQ(render("{{range .Nums}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}"), "13");
    EXPECT_EQ(render("{{range .Nums}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}"), "1");
    EXPECT_EQ(render("{{range .L}}{{range .}}{{end}}{{end}}", json{{"L", json::array({json::array({1}), nullptr})}}), "");
    EXPECT_EQ(render("{{range $.Mounts}}{{range $.L}}{{.}}{{break}}{{end}}{{end}}"), "aa");
    EXPECT_EQ(render_error("{{range \"abc\"}}{{end}}"), "template: `\"abc\"`: range can't iterate over abc");
    EXPECT_EQ(render_error("{{range $a, $b := 2}}{{end}}"),
              "template: `$a, $b := 2`: can't use two variables to range over an integer");
    EXPECT_EQ(parse_error("{{break}}"), "template: 1:3: {{break}} outside {{range}}");
    EXPECT_EQ(parse_error("{{range .L}}{{else}}{{continue}}{{end}}"), "template: 1:23: {{continue}} outside {{range}}");
    EXPECT_EQ(parse_error("{{range .L}}{{else if .X}}{{end}}"), "template: 1:20: unexpected `if` in {{else}}");
}

// --- functions -------------------------------------------------------------------------------------------

TEST(Template, DockerFunctions) {
    EXPECT_EQ(render("{{split \"a,b,,c\" \",\"}}"), "[a b  c]");
    EXPECT_EQ(render("{{split \"h\xc3\xa9\" \"\"}}"), "[h \xc3\xa9]");
    EXPECT_EQ(render("{{len (split \"\" \",\")}}"), "1");
    EXPECT_EQ(render("{{join .L \"-\"}} [{{join .EmptyL \",\"}}] {{join .Nums \"+\"}}"), "a-b-c [] 1+2+3");
    EXPECT_EQ(render("{{title \"hello wor_ld x-y 9a\"}}"), "Hello Wor_ld X-Y 9a");
    EXPECT_EQ(render("{{lower \"MiXeD\"}} {{upper \"MiXeD\"}}"), "mixed MIXED");
    EXPECT_EQ(render("[{{pad \"x\" 2 1}}] [{{pad \"\" 2 1}}]"), "[  x ] []");
    EXPECT_EQ(render("{{truncate \"abcdef\" 3}} {{truncate \"ab\" 5}} [{{truncate \"ab\" 0}}]"), "abc ab []");
    EXPECT_EQ(render("{{json .L}} {{json .ID}} {{json .N}} {{json .Null}}"), R"(["a","b","c"] "abc123" 3 null)");
    EXPECT_EQ(render_error("{{join .ID \",\"}}"),
              "template: `join .ID \",\"`: error calling join: wrong type for value; expected []string; got string");
    EXPECT_EQ(render_error("{{upper .L}}"),
              "template: `upper .L`: error calling upper: wrong type for value; expected string; got []interface {}");
    EXPECT_EQ(render_error("{{pad \"x\" -1 0}}"), "template: `pad \"x\" -1 0`: error calling pad: negative count");
    EXPECT_EQ(render_error("{{truncate .ID \"2\"}}"),
              "template: `truncate .ID \"2\"`: error calling truncate: wrong type for value; expected int; got string");
}

TEST(Template, IndexSliceLen) {
    EXPECT_EQ(render("{{index .L 1}} {{index .Nested 0 1}} {{index .Nested 1 \"k\"}}"), "b 2 <no value>");
    EXPECT_EQ(render("{{index .Config.Labels \"missing\"}}"), "<no value>");
    EXPECT_EQ(render("{{index .Null \"x\"}} {{index .L}}"), "<no value> [a b c]");
    EXPECT_EQ(render("{{index \"AB\" 1}}"), "66");
    EXPECT_EQ(render_error("{{index .L 5}}"), "template: `index .L 5`: error calling index: index out of range: 5");
    EXPECT_EQ(render_error("{{index .L -1}}"), "template: `index .L -1`: error calling index: index out of range: -1");
    EXPECT_EQ(render_error("{{index .L \"a\"}}"),
              "template: `index .L \"a\"`: error calling index: cannot index slice/array with type string");
    EXPECT_EQ(render_error("{{index .M 1}}"),
              "template: `index .M 1`: error calling index: value has type int; should be string");
    EXPECT_EQ(render_error("{{index .N 1}}"), "template: `index .N 1`: error calling index: can't index item of type int");
    EXPECT_EQ(render("{{slice \"abcdef\" 1 3}} {{slice \"abc\" 1}} {{slice .L 1}} {{slice .L 0 2 3}} {{slice .L}}"),
              "bc bc [b c] [a b] [a b c]");
    EXPECT_EQ(render_error("{{slice .L 2 1}}"), "template: `slice .L 2 1`: error calling slice: invalid slice index: 2 > 1");
    EXPECT_EQ(render_error("{{slice .L 0 4}}"), "template: `slice .L 0 4`: error calling slice: index out of range: 4");
    EXPECT_EQ(render_error("{{slice \"ab\" 0 1 2}}"),
              "template: `slice \"ab\" 0 1 2`: error calling slice: cannot 3-index slice a string");
    EXPECT_EQ(render("{{len .ID}} {{len .L}} {{len .M}} {{len .Null}} {{len \"h\xc3\xa9\"}}"), "6 3 2 0 3");
    EXPECT_EQ(render_error("{{len .N}}"), "template: `len .N`: error calling len: len of type int");
}

TEST(Template, Comparisons) {
    EXPECT_EQ(render("{{eq .N 3}} {{eq .ID \"abc123\"}} {{eq .N 1 2 3}} {{eq \"a\" \"b\"}}"), "true true true false");
    EXPECT_EQ(render("{{eq .N 3.0}} {{eq .Null nil}} {{eq .N nil}} {{eq true true}}"), "true true false true");
    EXPECT_EQ(render("{{ne 1 2}} {{lt 1 2}} {{lt \"b\" \"a\"}} {{le 2 2}} {{gt 3 2}} {{ge 2 3}} {{lt -1 18446744073709551615}}"),
              "true true false true true false true");
    EXPECT_EQ(render("{{lt 1.5 2}} {{gt .F 0.25}}"), "true true");
    EXPECT_EQ(render_error("{{eq 1 \"a\"}}"), "template: `eq 1 \"a\"`: error calling eq: incompatible types for comparison");
    EXPECT_EQ(render_error("{{eq .L .L}}"), "template: `eq .L .L`: error calling eq: non-comparable type []interface {}");
    EXPECT_EQ(render_error("{{eq 1}}"), "template: `eq 1`: error calling eq: missing argument for comparison");
    EXPECT_EQ(render_error("{{lt true false}}"), "template: `lt true false`: error calling lt: invalid type for comparison");
    EXPECT_EQ(render_error("{{lt nil 1}}"), "template: `lt nil 1`: error calling lt: invalid type for comparison");
    EXPECT_EQ(render_error("{{ne 1}}"), "template: `ne 1`: wrong number of args for ne: want 2 got 1");
}

TEST(Template, AndOrNotShortCircuit) {
    EXPECT_EQ(render("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} [{{or 0 \"\"}}]"), "0 2 x []");
    EXPECT_EQ(render("{{or 1 (index .L 99)}} {{and 0 (index .L 99)}}"), "1 0");  // (not evaluated)
    EXPECT_EQ(render("{{not 0}} {{not .ID}} {{0 | or 1}} {{1 | and 0}}"), "true false 1 0");
    EXPECT_EQ(render("{{if and .N (not .Zero)}}yes{{end}}"), "yes");
    EXPECT_EQ(render_error("{{or 0 (index .L 99)}}"),
              "template: `index .L 99`: error calling index: index out of range: 99");
}

TEST(Template, PrintFunctions) {
    EXPECT_EQ(render("{{print 1 2 \"a\" 3 \"b\" .Null .N}}"), "1 2a3b<nil> 3");  // (spaces between non-strings)
    EXPECT_EQ(render("{{println \"a\" 1 .L}}"), "a 1 [a b c]\n");
    EXPECT_EQ(render("{{print}}|{{println}}|"), "|\n|");
}

TEST(Template, Printf) {
    auto p = [](std::string_view args) { return render("{{printf " + std::string(args) + "}}"); };
    EXPECT_EQ(p(R"("%5d|%-5d|%05d|%+d|% d" 42 42 42 42 42)"), "   42|42   |00042|+42| 42");
    EXPECT_EQ(p(R"("%x %X %o %b %#x %#o %O" 255 255 255 5 255 8 8)"), "ff FF 377 101 0xff 010 0o10");
    EXPECT_EQ(p(R"("%d %x %05d" -42 -255 -42)"), "-42 -ff -0042");
    EXPECT_EQ(p(R"("%.3d|%6.3d" 7 7)"), "007|   007");
    EXPECT_EQ(p(R"("%.2f|%8.3f|%-8.1f|%08.3f|%f" 3.14159 3.14159 2.25 -3.14159 1)"),
              "3.14|   3.142|2.2     |-003.142|1.000000");
    EXPECT_EQ(p(R"("%e|%E|%.2e|%g|%g|%.3g|%G" 1234.5678 1234.5678 1234.5678 1000000.0 0.5 1234.5678 1e-10)"),
              "1.234568e+03|1.234568E+03|1.23e+03|1e+06|0.5|1.23e+03|1E-10");
    EXPECT_EQ(p(R"("%s|%6s|%-6s|%.2s|%06s" "ab" "ab" "ab" "h\u00e9llo" "ab")"), "ab|    ab|ab    |h\xc3\xa9|0000ab");
    EXPECT_EQ(p(R"("%q|%q" "a\"b\n" "\u00e9\x01")"), "\"a\\\"b\\n\"|\"\xc3\xa9\\x01\"");
    EXPECT_EQ(p(R"("%t %v %v %v %v %5v|" true .L .M 1.5 nil "x")"), "true [a b c] map[a:1 b:2] 1.5 <nil>     x|");
    EXPECT_EQ(p(R"("%x %X %c%c" "hi" "hi" 72 233)"), "6869 6869 H\xc3\xa9");
    EXPECT_EQ(p(R"("%*d|%-*d|%.*f" 4 1 3 2 1 3.14159)"), "   1|2  |3.1");
    EXPECT_EQ(p(R"("100%%")"), "100%");
    EXPECT_EQ(p(R"("%d %d" 1)"), "1 %!d(MISSING)");
    EXPECT_EQ(p(R"("%d|%s|%t|%f|%q" "x" 5 1 "y" true)"),
              "%!d(string=x)|%!s(int=5)|%!t(int=1)|%!f(string=y)|%!q(bool=true)");
    EXPECT_EQ(p(R"("%z %s" 1 nil)"), "%!z(int=1) %!s(<nil>)");
    EXPECT_EQ(p(R"("a" 1 "b")"), "a%!(EXTRA int=1, string=b)");
    EXPECT_EQ(p(R"("abc%")"), "abc%!(NOVERB)");
    EXPECT_EQ(p(R"("%d" 2.0)"), "2");  // (JSON's numbers: an integral float is a whole number)
    EXPECT_EQ(p(R"("%9999999d" 1)"), "%!(BADWIDTH)1");
    EXPECT_EQ(p(R"("%+v|%#v" 3 3)"), "3|3");  // (%+v, %#v: Go's struct forms; plain for JSON)
    EXPECT_EQ(p(R"("% x|%# x|%#x" "hi" "hi" "hi")"), "68 69|0x68 0x69|0x6869");
    EXPECT_EQ(p(R"("%[1]d %[1]x %[2]s|%[3]d|%[2]*[1]d|" 255 "a")"), "255 ff a|%!d(BADINDEX)|%!(BADWIDTH)255|");
    EXPECT_EQ(p(R"("%[2]*[1]d|" 5 4)"), "   5|");
    EXPECT_EQ(p(R"("%q|%q|%+q|%+q" 65 39 233 "é")"), "'A'|'\\''|'\\u00e9'|\"\\u00e9\"");
    EXPECT_EQ(p(R"("%c|%U|%#U|%U" -1 65 233 -1)"), "\xef\xbf\xbd|U+0041|U+00E9 '\xc3\xa9'|U+FFFFFFFFFFFFFFFF");
    EXPECT_EQ(p(R"("%#.3g|%#g|%#.0f|%#.0e" 1.0 2.0 3.0 5.0)"), "1.00|2.00000|3.|5.e+00");
}

TEST(Template, WrongArgumentCounts) {
    EXPECT_EQ(render_error("{{join .L}}"), "template: `join .L`: wrong number of args for join: want 2 got 1");
    EXPECT_EQ(render_error("{{.L | join \",\" \"x\"}}"),
              "template: `join \",\" \"x\"`: wrong number of args for join: want 2 got 3");
    EXPECT_EQ(render_error("{{printf}}"), "template: `printf`: wrong number of args for printf: want at least 1 got 0");
    EXPECT_EQ(render_error("{{and}}"), "template: `and`: wrong number of args for and: want at least 1 got 0");
    EXPECT_EQ(render_error("{{len}}"), "template: `len`: wrong number of args for len: want 1 got 0");
}

// --- parse errors ------------------------------------------------------------------------------------------

TEST(Template, ParseErrorsNamePositionAndProblem) {
    EXPECT_EQ(parse_error("{{.Name } }}"), "template: 1:9: unexpected `}` in command");
    EXPECT_EQ(parse_error("{{foo .A}}"), "template: 1:3: function `foo` not defined");
    EXPECT_EQ(parse_error("ab{{.Name"), "template: 1:3: unclosed action");
    EXPECT_EQ(parse_error("{{end}}"), "template: 1:1: unexpected {{end}}");
    EXPECT_EQ(parse_error("a\nbc{{ end }}"), "template: 2:3: unexpected {{end}}");
    EXPECT_EQ(parse_error("{{else}}"), "template: 1:1: unexpected {{else}}");
    EXPECT_EQ(parse_error("x{{if .A}}y"), "template: 1:4: unclosed {{if}}: no {{end}}");
    EXPECT_EQ(parse_error("{{range .L}}{{if .A}}{{end}}"), "template: 1:3: unclosed {{range}}: no {{end}}");
    EXPECT_EQ(parse_error("{{if .A}}{{else}}{{else}}{{end}}"), "template: 1:18: {{else}} after {{else}} in {{if}}");
    EXPECT_EQ(parse_error("{{}}"), "template: 1:3: missing value for command");
    EXPECT_EQ(parse_error("{{if}}{{end}}"), "template: 1:5: missing value for if");
    EXPECT_EQ(parse_error("{{(.A}}"), "template: 1:6: unclosed left paren");
    EXPECT_EQ(parse_error("{{.A)}}"), "template: 1:5: unexpected `)` in command");
    EXPECT_EQ(parse_error("{{.A\"x\"}}"), "template: 1:5: bad character `\"`");
    EXPECT_EQ(parse_error("{{\"a\"\"b\"}}"), "template: 1:6: unexpected `\"b\"` in operand");
    EXPECT_EQ(parse_error("{{\"a\".X}}"), "template: 1:6: unexpected `.` after term `\"a\"`");
    EXPECT_EQ(parse_error("{{template \"x\"}}"), "template: 1:3: {{template}} is not supported");
    EXPECT_EQ(parse_error("{{define \"x\"}}{{end}}"), "template: 1:3: {{define}} is not supported");
    EXPECT_EQ(parse_error("{{.A | if}}"), "template: 1:8: unexpected keyword `if` in operand");
    EXPECT_EQ(parse_error("{{end 1}}"), "template: 1:7: unexpected `1` in {{end}}");
    EXPECT_EQ(parse_error("{{.A : 1}}"), "template: 1:6: expected `:=`");
    EXPECT_EQ(parse_error("{{.A \x01}}"), "template: 1:6: unexpected U+0001 in command");
    EXPECT_EQ(parse_error("{{.A # 1}}"), "template: 1:6: unexpected `#` in command");
    EXPECT_EQ(parse_error("{{.A := 1}}"), "template: 1:6: unexpected `:=` in operand");
}

TEST(Template, NestingIsLimited) {
    std::string ok, deep;
    for (int i = 0; i < 100; ++i) ok += "(";
    ok = "{{" + ok + "1" + std::string(100, ')') + "}}";
    EXPECT_EQ(render(ok), "1");
    deep = "{{" + std::string(101, '(') + "1" + std::string(101, ')') + "}}";
    EXPECT_EQ(parse_error(deep), "template: 1:103: blocks and parentheses nested too deep (the limit is 100)");
    std::string ifs;
    for (int i = 0; i < 101; ++i) ifs += "{{if 1}}";
    for (int i = 0; i < 101; ++i) ifs += "{{end}}";
    EXPECT_EQ(parse_error(ifs), "template: 1:803: blocks and parentheses nested too deep (the limit is 100)");
    // (and hostile ones)
    EXPECT_EQ(parse_error("{{" + std::string(100000, '(') + "}}"),
              "template: 1:103: blocks and parentheses nested too deep (the limit is 100)");
    EXPECT_EQ(parse_error(std::string(100000, '(') + "{{" + std::string(100000, '(')),
              "template: 1:100001: unclosed action");
}

TEST(Template, RenderLimits) {
    EXPECT_EQ(render_error("{{range 100000}}{{printf \"%1000s\" \"\"}}{{end}}"),
              "template: the output is too large (the limit is 64 MiB)");
    EXPECT_EQ(render_error("{{range 10000000}}{{end}}"), "template: the render takes too long (over 5000000 steps)");
    EXPECT_EQ(render_error("{{$s := printf \"%1000000s\" \"\"}}{{range 1000}}{{$s = printf \"%s\" $s}}{{end}}"),
              "template: `printf \"%s\" $s`: error calling printf: the template makes too much data (the limit is 256 "
              "MiB)");
    EXPECT_EQ(render_error("{{pad \"x\" 1000000000000 0}}"),
              "template: `pad \"x\" 1000000000000 0`: error calling pad: the template makes too much data (the limit "
              "is 256 MiB)");
}

// --- the API around templates ---------------------------------------------------------------------------

TEST(Template, DefaultAndCopiesRender) {
    Template none;
    ASSERT_TRUE(none.render(data()));
    EXPECT_EQ(*none.render(data()), "");
    auto t = Template::parse("{{.Names}}");
    ASSERT_TRUE(t);
    Template copy = *t;
    EXPECT_EQ(*copy.render(data()), "web");
    EXPECT_EQ(*t->render(json{{"Names", "other"}}), "other");
}

TEST(Template, RenderOne) {
    auto r = render_one("{{.State.Status}}", data());
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "running\n");
    r = render_one("json", json{{"a", 1}, {"b", {1, 2}}});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "{\"a\":1,\"b\":[1,2]}\n");
    r = render_one("{{.Bad", data());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "template: 1:1: unclosed action");
}

std::vector<json> rows() {
    return {json{{"ID", "abc123"}, {"Names", "web"}, {"Labels", {{"a", "1"}}}},
            json{{"ID", "d4"}, {"Names", "db-primary"}, {"Labels", json::object()}}};
}
const json kHeaders = {{"ID", "CONTAINER ID"}, {"Names", "NAMES"}, {"Labels", "LABELS"}};

TEST(Template, TableIsAlignedAsDockersTabwriter) {
    auto r = render_list("table {{.ID}}\t{{.Names}}", rows(), kHeaders);
    ASSERT_TRUE(r) << r.error().msg;
    EXPECT_EQ(*r,
              "CONTAINER ID   NAMES\n"
              "abc123         web\n"
              "d4             db-primary\n");
    // As typed in a shell: a backslash and a t.
    r = render_list("table {{.ID}}\\t{{.Names}}", rows(), kHeaders);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r,
              "CONTAINER ID   NAMES\n"
              "abc123         web\n"
              "d4             db-primary\n");
    // Short columns are 10 wide (minwidth); the last is not padded.
    r = render_list("table {{.Names}}\t{{.ID}}\t{{.Names}}", rows(), kHeaders);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r,
              "NAMES        CONTAINER ID   NAMES\n"
              "web          abc123         web\n"
              "db-primary   d4             db-primary\n");
}

TEST(Template, TableHeaderUsesDockersHeaderFunctions) {
    auto r = render_list("table {{.Names | upper}}\t{{json .Labels}}\t{{join .Names \",\"}}", {}, kHeaders);
    ASSERT_TRUE(r) << r.error().msg;
    EXPECT_EQ(*r, "NAMES     LABELS    NAMES\n");
    r = render_list("table {{.Names | lower}}\t{{.Missing}}|", rows(), json{{"Names", "NAMES"}});
    ASSERT_FALSE(r);  // (the rows have no Missing)
    EXPECT_EQ(r.error().msg, "template: `.Missing`: no field `Missing` (fields: ID, Labels, Names)");
    r = render_list("table {{.Names | lower}}\t{{.Missing}}|", {}, json{{"Names", "NAMES"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "names     |\n");  // (lower is not a header function; a missing header is "")
    auto h = Template::parse("{{.State.Status}}");
    ASSERT_TRUE(h);
    EXPECT_EQ(*h->render_header(json{{"State", "STATE"}}), "STATE");
}

TEST(Template, ListFormats) {
    auto r = render_list("{{.ID}}: {{.Names}}", rows(), kHeaders);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "abc123: web\nd4: db-primary\n");
    r = render_list("json", rows(), kHeaders);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, R"({"ID":"abc123","Labels":{"a":"1"},"Names":"web"})"
                  "\n"
                  R"({"ID":"d4","Labels":{},"Names":"db-primary"})"
                  "\n");
    r = render_list("  {{.ID}}\\n ", rows(), kHeaders);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "abc123\n\nd4\n\n");
    r = render_list("table {{.ID}}", {}, kHeaders);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "CONTAINER ID\n");
    auto lf = parse_list_format("table {{.ID}}");
    ASSERT_TRUE(lf);
    EXPECT_TRUE(lf->table);
    EXPECT_TRUE(lf->header.has_value());
    lf = parse_list_format("{{.ID}}");
    ASSERT_TRUE(lf);
    EXPECT_FALSE(lf->table);
    EXPECT_FALSE(lf->header.has_value());
    r = render_list("table {{.ID", rows(), kHeaders);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "template: 1:1: unclosed action");
}

TEST(Template, AlignColumnsBlocks) {
    // A line without the column ends its block: each block has its own width.
    EXPECT_EQ(align_columns("a\tb\nccc\n\nxxxxxxxxxxxxx\ty\n"), "a         b\nccc\n\nxxxxxxxxxxxxx   y\n");
    // Runes, not bytes; an empty cell is padded; a trailing tab leaves padding.
    EXPECT_EQ(align_columns("\xc3\xa9\tx\n\tyy\n"), "\xc3\xa9         x\n          yy\n");
    EXPECT_EQ(align_columns("a\t\n"), "a         \n");
    // Columns to the right are aligned only within their left neighbour's block.
    EXPECT_EQ(align_columns("a\tb\tc\na\tbbbbbbbbbbbbbbbb\tc\na\tb\n"),
              "a         b                  c\n"
              "a         bbbbbbbbbbbbbbbb   c\n"
              "a         b\n");
    // The unterminated last line: its tab-terminated cell is its last (as Go's Flush).
    EXPECT_EQ(align_columns("a\tb\nccccccccccccccc\t"), "a         b\nccccccccccccccc");
    EXPECT_EQ(align_columns(""), "");
    EXPECT_EQ(align_columns("no tabs"), "no tabs");
}

}  // namespace
}  // namespace hako::format
